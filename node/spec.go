package node

import (
	"fmt"
	"io"

	"leolab/internal/spec/mountspec"
	"leolab/internal/spec/nodespec"
)

// Spec is everything the runtime needs to spawn one node.
type Spec struct {
	Lab, Name, Hostname string
	StateDir            string            // per-node host dir (exists); console.log goes here
	Root                string            // dir where the root is assembled (exists, empty)
	RootMounts          []mountspec.Mount // from rootfs; empty = bind Root on itself
	Socket              string            // control socket path (host side)
	Hosts               string            // full /etc/hosts content (when HostsFile is "")
	HostsFile           string            // host file holding /etc/hosts, shared by a lab's nodes
	Binds               []nodespec.Bind
	Env                 []string // KEY=VALUE
	Cmd                 []string
	Sysctls             []nodespec.Sysctl
	Privileged          bool
	Caps                nodespec.Caps   // added to / dropped from the default set
	Files               []nodespec.File // created after the pivot, before anything runs
	UserNamespace       bool
	UIDBase             uint32 // with UserNamespace: node uid/gid 0 is host UIDBase
	Limits              nodespec.Limits
}

// IDRange is the number of uids and gids mapped into a node's user namespace.
const IDRange = 65536

// maxSocketPath is the longest path a unix socket address holds (sun_path
// minus its terminating NUL).
const maxSocketPath = 107

// Process is a spawned node's init as seen from the host.
type Process struct {
	Pid       int
	StartTime uint64   // field 22 of /proc/PID/stat
	Cgroups   []string // cgroup dirs created for the node

	sync *conn // parent's end of the sync socket; nil after Close
}

// ExecOptions describes one command run inside a node. Stdin, Stdout and
// Stderr are copied through pipes (or the pty); the caller's own file
// descriptors never enter the node.
type ExecOptions struct {
	Argv, Env []string
	Tty       bool
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
}

// NetnsPath is the node's network namespace as seen from the host.
func (p *Process) NetnsPath() string { return fmt.Sprintf("/proc/%d/ns/net", p.Pid) }

func (s *Spec) validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("node spec: empty name")
	case s.Root == "" || s.Root[0] != '/':
		return fmt.Errorf("node %s: root %q is not an absolute path", s.Name, s.Root)
	case s.StateDir == "":
		return fmt.Errorf("node %s: empty state dir", s.Name)
	case s.Socket == "" || s.Socket[0] != '/':
		return fmt.Errorf("node %s: control socket %q is not an absolute path", s.Name, s.Socket)
	case len(s.Socket) > maxSocketPath:
		return fmt.Errorf("node %s: control socket path %q is %d bytes, the kernel allows %d", s.Name, s.Socket, len(s.Socket), maxSocketPath)
	case s.HostsFile != "" && s.HostsFile[0] != '/':
		return fmt.Errorf("node %s: hosts file %q is not an absolute path", s.Name, s.HostsFile)
	case s.UserNamespace && s.UIDBase == 0:
		return fmt.Errorf("node %s: user namespace needs a non-zero uid base", s.Name)
	}
	for _, f := range s.Files {
		if len(f.Path) < 2 || f.Path[0] != '/' {
			return fmt.Errorf("node %s: file %q needs an absolute path", s.Name, f.Path)
		}
	}
	for _, b := range s.Binds {
		if len(b.Source) == 0 || b.Source[0] != '/' || len(b.Target) == 0 || b.Target[0] != '/' {
			return fmt.Errorf("node %s: bind %s:%s needs absolute paths", s.Name, b.Source, b.Target)
		}
	}
	return nil
}
