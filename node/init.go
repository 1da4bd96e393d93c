package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/internal/wire/ctlwire"
)

// Fds init inherits from its parent.
const (
	syncFd    = 3
	controlFd = 4
)

func init() {
	if len(os.Args) > 0 && os.Args[0] == hostnames.InitArg0 {
		// Init's main goroutine keeps the thread group leader to itself (a
		// package init function runs there; locking it now keeps main on
		// it): the spawning thread, which leaves init's cgroups for the
		// node's limited ones, must never be the leader, whose cgroups are
		// the ones /proc/1/cgroup shows and whose memory cgroup init's
		// memory is charged to and chosen for the OOM killer from.
		runtime.LockOSThread()
	}
}

// MaybeRunInit runs a node's init and exits when this process was started
// as one (argv[0] == "leolab-init"); otherwise it returns at once. Call it
// first thing in main and in TestMain of any test package that spawns nodes.
func MaybeRunInit() {
	if len(os.Args) == 0 || os.Args[0] != hostnames.InitArg0 {
		return
	}
	// Started from a memfd path, the kernel named us after the fd number:
	// show "leolab-init" in ps, inside the node and on the host.
	os.WriteFile("/proc/self/comm", []byte(hostnames.InitArg0), 0)
	// Memory of an idle init (bench/RESULTS.md): start-up allocates about
	// 130 KiB, far below the first collection, so an idle init never runs
	// the GC, whose first cycle alone touches about 300 KiB of metadata
	// (mark bits, work buffers, a worker stack). Do not force one here. A
	// node that serves many execs does collect, early: its heap goal starts
	// at 800 KiB instead of 4 MiB.
	debug.SetGCPercent(20)
	os.Exit(runInit())
}

// runInit is init's whole life; its result is the exit status.
func runInit() int {
	// Everything inherited above stdio (our sync and control sockets, and
	// whatever the deploying process leaked to us) must not reach node
	// processes: mark it all close-on-exec.
	if err := cloexecFrom(syncFd); err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: close-on-exec: %v\n", err)
		return 255
	}
	sync := newConn(syncFd, "sync")
	var cfg initConfig
	rootFds, err := sync.recv(&cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: %v\n", err)
		return 255
	}
	spec := &cfg.Spec
	// Before any node process exists, and before the spawning thread
	// leaves the node's cgroup for its limited child: that is the root.
	if err := rootCgroupns(); err != nil {
		ctlwire.CloseAll(rootFds)
		return reportFailure(sync, spec.Name, err)
	}
	var sp *spawner
	if cfg.Spawner {
		sp = startSpawner()
	} else {
		// No thread of init leaves its cgroups: the leader needs no
		// keeper (a locked thread costs a node an idle thread more).
		runtime.UnlockOSThread()
	}
	var con *console
	if len(spec.Cmd) > 0 {
		// Before the pivot, while the node's state dir is reachable.
		con = openConsole(spec.StateDir)
	}
	if err := buildNode(&cfg, rootFds); err != nil {
		return reportFailure(sync, spec.Name, err)
	}
	built := syncMsg{Stage: "built"}
	if sp != nil {
		built.SpawnerTID = sp.tid
	}
	if err := sync.send(built); err != nil {
		return 255
	}
	var msg syncMsg
	if _, err := sync.recv(&msg); err != nil || msg.Stage != "go" {
		// The parent gave up before Release: the node must not run.
		return 255
	}
	sup := newSupervisor(spec, sp)
	sup.console = con
	if err := finishNode(spec, sup); err != nil {
		return reportFailure(sync, spec.Name, err)
	}
	if err := sync.send(syncMsg{Stage: "ready"}); err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: report ready: %v\n", err)
	}
	sync.Close()
	return sup.run()
}

// reportFailure logs err with the node's name to the console and sends it
// to the parent without the name, which the parent's error already gives.
func reportFailure(sync *conn, name string, err error) int {
	fmt.Fprintf(os.Stderr, "leolab-init: %s: %v\n", name, err)
	sync.send(syncMsg{Error: err.Error(), RootMount: errors.Is(err, ErrRootMount)})
	return 255
}

// buildNode is the first phase: the node's filesystem, pivoted into.
func buildNode(cfg *initConfig, rootFds []int) error {
	spec := &cfg.Spec
	defer ctlwire.CloseAll(rootFds)
	// Nothing mounted from here on may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if err := mountRoot(spec, cfg.IDMapped, rootFds); err != nil {
		return err
	}
	if err := checkRootDirs(spec.Root); err != nil {
		return err
	}
	if err := mountSpecial(spec.Root, tmpfsSize(spec.Limits)); err != nil {
		return err
	}
	if err := mountBinds(spec.Root, spec); err != nil {
		return err
	}
	// The lab's shared hosts file is opened while the host is still visible
	// and copied in after the pivot: one O(N) file per lab, not per node.
	hostsFile, err := openHostsFile(spec)
	if err != nil {
		return err
	}
	var hosts io.Reader // nil (not a nil *os.File): the content is inline
	if hostsFile != nil {
		defer hostsFile.Close()
		hosts = hostsFile
	}
	if err := pivot(spec.Root); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(hostname(spec))); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	if err := writeEtc(spec, hosts, cfg.ResolvConf); err != nil {
		return err
	}
	return writeFiles(spec.Files)
}

// openHostsFile opens spec.HostsFile, or returns nil when the hosts
// content came inline.
func openHostsFile(spec *Spec) (*os.File, error) {
	if spec.HostsFile == "" {
		return nil, nil
	}
	f, err := os.Open(spec.HostsFile)
	if err != nil {
		return nil, fmt.Errorf("open hosts file: %w", err)
	}
	return f, nil
}

func hostname(spec *Spec) string {
	if spec.Hostname != "" {
		return spec.Hostname
	}
	return spec.Name
}

// finishNode is the second phase, after the parent wired the network.
func finishNode(spec *Spec, sup *supervisor) error {
	// Sysctls first: net.* needs the interfaces the parent just moved in,
	// and /proc/sys turns read-only below.
	if err := applySysctls(spec.Sysctls); err != nil {
		return err
	}
	if !spec.Privileged {
		if err := maskProc(); err != nil {
			return err
		}
	}
	// Dropping privileges last: the mounts above need CAP_SYS_ADMIN.
	if err := harden(spec.Privileged, spec.Caps); err != nil {
		return err
	}
	sup.subscribe()
	if err := sup.startCmd(); err != nil {
		return err
	}
	return sup.serve(controlFd)
}
