package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/internal/wire/ctlwire"
)

// Start spawns the node's init and returns once init has built the node's
// filesystem and waits for Release. Until then the node runs nothing; the
// caller wires networking into NetnsPath in between. On error nothing of the
// node is left running and its cgroups are removed.
func Start(ctx context.Context, spec Spec) (p *Process, retErr error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if spec.UserNamespace && spec.HostsFile != "" {
		// An unprivileged init may not reach the file: send it inline.
		hosts, err := os.ReadFile(spec.HostsFile)
		if err != nil {
			return nil, fmt.Errorf("node %s: read hosts file: %w", spec.Name, err)
		}
		spec.Hosts, spec.HostsFile = string(hosts), ""
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("node %s: read host resolv.conf: %w", spec.Name, err)
	}
	// Cgroups exist before init so it can be moved in before it runs anything.
	cgroups, err := createCgroups(spec.Lab, spec.Name, spec.Limits)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", spec.Name, err)
	}
	defer func() {
		if retErr != nil {
			RemoveCgroups(spec.Lab, spec.Name)
		}
	}()
	listener, err := listenControl(spec.Socket)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", spec.Name, err)
	}
	defer listener.Close()
	defer func() {
		if retErr != nil {
			os.Remove(spec.Socket)
		}
	}()

	cmd, parent, err := spawnInit(spec, listener)
	if err != nil {
		return nil, fmt.Errorf("node %s: start init: %w", spec.Name, err)
	}
	p = &Process{Pid: cmd.Process.Pid, Cgroups: cgroups.dirs, sync: parent}
	// Reap init whenever it exits so a long-lived caller collects no zombie.
	go cmd.Wait()
	defer func() {
		if retErr != nil {
			parent.Close()
			cmd.Process.Kill()
		}
	}()
	if p.StartTime, err = StartTimeOf(p.Pid); err != nil {
		return nil, fmt.Errorf("node %s: %w", spec.Name, err)
	}
	// Init waits for its config, so joining the cgroup now precedes everything it does.
	if err := joinCgroups(cgroups.dirs, p.Pid); err != nil {
		return nil, fmt.Errorf("node %s: %w", spec.Name, err)
	}
	spawner := len(cgroups.spawnTasks) > 0
	if err := sendConfig(parent, spec, string(resolv), p.Pid, spawner); err != nil {
		return nil, fmt.Errorf("node %s: %w", spec.Name, err)
	}
	built, err := awaitStage(ctx, parent, "built")
	if err != nil {
		return nil, fmt.Errorf("node %s: build filesystem: %w", spec.Name, err)
	}
	if spawner {
		// Before "go": every process of the node is born in the procs cgroup.
		if err := placeSpawner(cgroups.spawnTasks, p.Pid, built.SpawnerTID); err != nil {
			return nil, fmt.Errorf("node %s: %w", spec.Name, err)
		}
	}
	return p, nil
}

// initCmd is the command that starts a node's init: fresh namespaces, its
// own session, the sync socket as fd 3 and the control listener as fd 4.
func initCmd(spec Spec, exe string, devnull, console, child, listener *os.File) *exec.Cmd {
	cmd := &exec.Cmd{
		Path: exe,
		Args: hostnames.InitArgv(spec.Lab, spec.Name), // destroy finds inits by these
		// One P from the first instruction: a second P's caches and
		// spans cost every idle init about 80 KiB (set later, they stay).
		Env:        []string{"GOMAXPROCS=1"},
		Dir:        "/",
		Stdin:      devnull,
		Stdout:     console,
		Stderr:     console,
		ExtraFiles: []*os.File{child, listener},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWPID | unix.CLONE_NEWNS |
				unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP,
			// Its own session: the node must outlive the deploying process
			// and its terminal (hence no Pdeathsig either).
			Setsid: true,
		},
	}
	if spec.UserNamespace {
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
		m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(spec.UIDBase), Size: IDRange}}
		cmd.SysProcAttr.UidMappings = m
		cmd.SysProcAttr.GidMappings = m
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
		// Become the namespace's root (host UIDBase); otherwise init keeps
		// host uid 0, which is unmapped in there, and has no capabilities.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	return cmd
}

// initStartDelays are the pauses before each further try of an init start
// the kernel refused (EACCES, ETXTBSY) while the init program's fd still
// held the sealed file. Rare and not understood: seen in two benchmark runs
// of hundreds of nodes on a host with heavy process and namespace churn,
// where an immediate second try was refused too.
var initStartDelays = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond, time.Second}

// startInitCmd starts a command from newCmd, and again after each of
// initStartDelays while exec of the init program is refused with its fd
// intact. One that never succeeds says how the program's path looked from
// here.
func startInitCmd(newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	cmd := newCmd()
	err := cmd.Start()
	if err == nil || !execRefused(err) {
		return cmd, err
	}
	var waited time.Duration
	for _, d := range initStartDelays {
		if cerr := checkInitExe(); cerr != nil {
			return nil, fmt.Errorf("%w (%v)", err, cerr)
		}
		time.Sleep(d)
		waited += d
		retry := newCmd()
		rerr := retry.Start()
		if rerr == nil {
			return retry, nil
		}
		if !execRefused(rerr) {
			return nil, rerr
		}
	}
	return nil, fmt.Errorf("%w (the init program itself is intact; refused %d more times over %v; %s)",
		err, len(initStartDelays), waited, execDiagnosis(cmd.Path))
}

func execRefused(err error) bool { return errors.Is(err, unix.EACCES) || errors.Is(err, unix.ETXTBSY) }

// execDiagnosis says whether this process may exec path, and search "/",
// right now (the child's exec or chdir("/") gave the error).
func execDiagnosis(path string) string {
	result := func(err error) string {
		if err != nil {
			return err.Error()
		}
		return "ok"
	}
	return fmt.Sprintf("from the deploying process: access(%s, X_OK): %s, access(/, X_OK): %s",
		path, result(unix.Access(path, unix.X_OK)), result(unix.Access("/", unix.X_OK)))
}

// spawnInit starts a node's init in fresh namespaces from initExe: the init
// sealed in a memfd (internal/embedded/initbin) when this binary carries
// one, else this binary itself. The sync socket is its fd 3 and the
// control listener its fd 4.
func spawnInit(spec Spec, listener *os.File) (*exec.Cmd, *conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("sync socketpair: %w", err)
	}
	parent := newConn(fds[0], "sync-parent")
	child := os.NewFile(uintptr(fds[1]), "sync-child")
	defer child.Close()

	console, err := os.OpenFile(filepath.Join(spec.StateDir, "console.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		parent.Close()
		return nil, nil, fmt.Errorf("open console log: %w", err)
	}
	defer console.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		parent.Close()
		return nil, nil, err
	}
	defer devnull.Close()

	exe, err := initExe()
	if err != nil {
		parent.Close()
		return nil, nil, fmt.Errorf("init program: %w", err)
	}
	newCmd := func() *exec.Cmd { return initCmd(spec, exe, devnull, console, child, listener) }
	cmd, err := startInitCmd(newCmd)
	if err != nil {
		parent.Close()
		return nil, nil, err
	}
	return cmd, parent, nil
}

// sendConfig hands init its configuration; with a user namespace it also
// passes one idmapped detached mount per root mount.
func sendConfig(c *conn, spec Spec, resolv string, pid int, spawner bool) error {
	cfg := initConfig{Spec: spec, ResolvConf: resolv, Spawner: spawner}
	var fds []int
	if spec.UserNamespace {
		var err error
		if fds, err = idmappedRootMounts(spec, pid); err != nil {
			return err
		}
		defer ctlwire.CloseAll(fds)
		cfg.IDMapped = true
	}
	if err := c.send(cfg, fds...); err != nil {
		return fmt.Errorf("send config to init: %w", err)
	}
	return nil
}

// placeSpawner moves init's spawning thread, and only it, into the node's
// limited procs cgroups (a v1 tasks file moves one thread). nsTid is the
// thread's id inside the node's PID namespace, as init saw it.
func placeSpawner(tasks []string, pid, nsTid int) error {
	tid, err := hostTid(pid, nsTid)
	if err != nil {
		return err
	}
	for _, f := range tasks {
		if err := writeFile(f, strconv.Itoa(tid)); err != nil {
			return err
		}
	}
	return nil
}

// hostTid finds, among init's threads, the one whose id in the node's PID
// namespace is nsTid (the last field of NSpid in its status).
func hostTid(pid, nsTid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	threads, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("threads of init %d: %w", pid, err)
	}
	for _, th := range threads {
		status, err := os.ReadFile(filepath.Join(dir, th.Name(), "status"))
		if err != nil {
			continue // exited meanwhile
		}
		for _, line := range strings.Split(string(status), "\n") {
			ids, ok := strings.CutPrefix(line, "NSpid:")
			f := strings.Fields(ids)
			if ok && len(f) > 1 && f[len(f)-1] == strconv.Itoa(nsTid) {
				return strconv.Atoi(th.Name())
			}
		}
	}
	return 0, fmt.Errorf("init %d has no thread %d in its PID namespace", pid, nsTid)
}

// awaitStage waits for init to report stage, or its error.
func awaitStage(ctx context.Context, c *conn, stage string) (syncMsg, error) {
	type result struct {
		msg syncMsg
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var m syncMsg
		_, err := c.recv(&m)
		ch <- result{m, err}
	}()
	select {
	case <-ctx.Done():
		return syncMsg{}, ctx.Err()
	case r := <-ch:
		switch {
		case r.err != nil:
			return r.msg, fmt.Errorf("init exited without reporting (see console.log): %w", r.err)
		case r.msg.Error != "":
			return r.msg, &initError{msg: r.msg.Error, rootMount: r.msg.RootMount}
		case r.msg.Stage != stage:
			return r.msg, fmt.Errorf("init reported %q, expected %q", r.msg.Stage, stage)
		}
		return r.msg, nil
	}
}

// Release tells init to go on: apply sysctls, harden, start cmd and serve
// exec. It returns when init reports ready, or with init's error (the node
// is then still running; Stop it).
func (p *Process) Release(ctx context.Context) error {
	if p.sync == nil {
		return fmt.Errorf("release init %d: sync socket already closed", p.Pid)
	}
	if err := p.sync.send(syncMsg{Stage: "go"}); err != nil {
		return fmt.Errorf("release init %d: %w", p.Pid, err)
	}
	if _, err := awaitStage(ctx, p.sync, "ready"); err != nil {
		return fmt.Errorf("release init %d: %w", p.Pid, err)
	}
	return nil
}

// Close drops the parent's end of the sync socket without stopping the
// node. Closing before Release makes init exit.
func (p *Process) Close() error {
	if p.sync == nil {
		return nil
	}
	err := p.sync.Close()
	p.sync = nil
	return err
}

// listenControl binds and listens on the node's control socket on the host
// side; init inherits the listening fd, so the node itself never sees the path.
func listenControl(path string) (*os.File, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale control socket %s: %w", path, err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("chmod control socket %s: %w", path, err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}
