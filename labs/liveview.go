package labs

import (
	"context"
	"fmt"
	"maps"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"leolab/labs/view"
	"leolab/node"
	"leolab/topology"
)

// Snapshot is what a live view (leolab ui) needs of one deployed lab, read
// from its state file once: the view inspect prints, the plan, where the
// lab's host-side devices live, and when the state file last changed.
type Snapshot struct {
	View     view.Lab
	Plan     *topology.Plan
	LabNetns string    // the isolated lab's namespace name; "" on the host
	Stamp    time.Time // the state file's modification time
	st       *State
	phase    string
	watch    []watched // running nodes' inits, as pidfds
	epfd     int       // an epoll set of the pidfds (-1: poll them)
	ready    []unix.EpollEvent
	fixed    map[string]string
}

// watched is a node init held as a pidfd: it becomes readable when the
// process exits, so a whole lab is checked with one poll.
type watched struct {
	node string
	fd   int
}

// LabNames lists the labs that have a directory under the root, sorted.
func (m *Manager) LabNames() ([]string, error) { return m.labNames() }

// StateStamp is the modification time of lab's state file: a live view
// reads the state again only when it changes.
func (m *Manager) StateStamp(lab string) (time.Time, error) {
	fi, err := os.Stat(m.statePath(lab))
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// Snapshot reads a deployed lab's state.
func (m *Manager) Snapshot(lab string) (*Snapshot, error) {
	stamp, err := m.StateStamp(lab)
	if err != nil {
		return nil, fmt.Errorf("no lab named %s is deployed", lab)
	}
	st, err := m.runningState(lab)
	if err != nil {
		return nil, err
	}
	v := m.labView(st)
	s := &Snapshot{View: v, Plan: st.Plan, LabNetns: st.Plan.LabNetns, Stamp: stamp, st: st, phase: v.Phase,
		epfd: -1, fixed: map[string]string{}}
	for _, n := range v.Nodes {
		s.fixed[n.Name] = n.State
		ns := st.Nodes[n.Name]
		if n.State == "missing" || n.State == "exited" || ns == nil {
			continue
		}
		fd, err := unix.PidfdOpen(ns.Pid, 0)
		// Alive again once the fd is held: the pid was not recycled in between.
		if err == nil && !node.Alive(ns.Pid, ns.StartTime) {
			unix.Close(fd)
			s.fixed[n.Name] = "exited"
			continue
		}
		if err == nil {
			s.watch = append(s.watch, watched{n.Name, fd})
		}
	}
	s.watchAll()
	return s, nil
}

// watchAll puts the pidfds in one epoll set: a check then costs only the
// exited inits, not one per node.
func (s *Snapshot) watchAll() {
	if len(s.watch) == 0 {
		return
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return // NodeStates polls them
	}
	for i, w := range s.watch {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, w.fd, &ev); err != nil {
			unix.Close(ep)
			return
		}
	}
	s.epfd, s.ready = ep, make([]unix.EpollEvent, len(s.watch))
}

// NodeStates reads each node's state from the kernel again (whether its
// init has exited since the snapshot), without reading the state file:
// one wait on the epoll set of the inits' pidfds (or one poll of them).
func (s *Snapshot) NodeStates() map[string]string {
	out := maps.Clone(s.fixed)
	if len(s.watch) == 0 {
		return out
	}
	if s.epfd >= 0 {
		if n, err := unix.EpollWait(s.epfd, s.ready, 0); err == nil {
			for _, ev := range s.ready[:n] {
				out[s.watch[ev.Fd].node] = "exited"
			}
			return out
		} // else poll them
	}
	fds := make([]unix.PollFd, len(s.watch))
	for i, w := range s.watch {
		fds[i] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}
	}
	if _, err := unix.Poll(fds, 0); err != nil {
		return out
	}
	for i, w := range s.watch {
		if fds[i].Revents != 0 {
			out[w.node] = "exited"
		}
	}
	return out
}

// Close releases the snapshot's pidfds.
func (s *Snapshot) Close() {
	if s.epfd >= 0 {
		unix.Close(s.epfd)
		s.epfd = -1
	}
	for _, w := range s.watch {
		unix.Close(w.fd)
	}
	s.watch = nil
}

// NetnsPath is where node's network namespace is registered.
func NetnsPath(lab, node string) string { return netnsPath(lab, node) }

// OpenTty starts argv on a pty in NODE (or LAB/NODE) for a caller that
// relays the terminal itself.
func (m *Manager) OpenTty(ctx context.Context, lab, target string, argv []string, rows, cols uint16) (*node.Tty, error) {
	lab, name, err := m.locateNode(lab, target)
	if err != nil {
		return nil, err
	}
	socket, err := os.Readlink(m.controlLink(lab, name))
	if err != nil {
		if dead := m.exitedNode(lab, name); dead != nil {
			return nil, dead
		}
		return nil, fmt.Errorf("node %s/%s is not running (its control socket is not there yet or any more)", lab, name)
	}
	return node.OpenTty(ctx, socket, argv, nil, rows, cols)
}
