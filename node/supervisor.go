package node

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// defaultPath is the node's PATH unless its env sets one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// stopWait is how long init gives cmd to exit after forwarding SIGTERM.
const stopWait = 2 * time.Second

// supervisor is init's PID-1 duty: it owns every wait4 in the node, so the
// commands it starts register a waiter before the reaper can see them.
type supervisor struct {
	spec    *Spec
	env     []string
	sigs    chan os.Signal // SIGCHLD and SIGTERM: init's own work
	others  chan os.Signal // passedOn and ignored: never crowd out SIGCHLD
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	cmdPid  int
	cmdDone chan unix.WaitStatus
	// listener is the control socket; kept here so it is never collected.
	listener *os.File
	spawner  *spawner // nil: fork from whichever thread runs spawn
	console  *console // bounds cmd's output; nil: cmd writes init's stdio
}

func newSupervisor(spec *Spec, sp *spawner) *supervisor {
	s := &supervisor{
		spec:    spec,
		spawner: sp,
		env:     nodeEnv(spec),
		sigs:    make(chan os.Signal, 8),
		others:  make(chan os.Signal, 8),
		waiters: map[int]chan unix.WaitStatus{},
	}
	return s
}

// subscribe starts the signal delivery init's loop reads. It must run before
// any child exists, so no SIGCHLD is lost, and runs after the blocking
// set-up syscalls: os/signal's goroutines (one locked to a thread of its
// own), runnable while those syscalls hold the only P, made the runtime
// start extra threads that idled for the node's whole life (about 40 KiB
// of an idle init's memory).
func (s *supervisor) subscribe() {
	signal.Notify(s.sigs, unix.SIGCHLD, unix.SIGTERM)
	signal.Notify(s.others, append(append([]os.Signal(nil), passedOn...), ignored...)...)
}

// What init does with each signal a node process sends it (the kernel
// delivers to a PID namespace's init, from inside, only the signals it has
// a handler for, and the Go runtime installs one for almost every signal,
// dying of some when nothing subscribed to them):
//   - SIGTERM stops the node (passed to cmd, which gets stopWait to exit);
//   - SIGCHLD reaps;
//   - passedOn go to cmd, the node's service, as a container init does
//     (reload, graceful stop, log rotation); without cmd they are ignored;
//   - ignored would make the runtime crash or exit (SIGHUP ends the
//     process, the rest throw): sent by kill they are no fault of init's.
//     A real fault of init's own code still crashes it: the runtime hands
//     subscribers only the ones sent by a process.
//   - every other catchable signal (SIGPIPE, SIGALRM, SIGWINCH, the
//     real-time ones …) the runtime already ignores unless subscribed;
//     SIGKILL and SIGSTOP from inside never reach a namespace's init.
var (
	passedOn = []os.Signal{unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}
	ignored  = []os.Signal{unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV, unix.SIGSTKFLT, unix.SIGSYS}
)

// nodeEnv is the node's environment: defaults, overridden by spec.Env.
func nodeEnv(spec *Spec) []string {
	base := []string{"PATH=" + defaultPath, "HOME=/root", "HOSTNAME=" + hostname(spec)}
	return mergeEnv(base, spec.Env)
}

// mergeEnv returns base with every KEY=VALUE of over replacing or adding.
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if k, _, _ := strings.Cut(old, "="); k == key {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// spawn starts argv with the given fds as 0, 1, 2 and registers its waiter.
// The lock keeps the reaper from collecting the child before it is known.
func (s *supervisor) spawn(path string, argv, env []string, files []uintptr, sys *syscall.SysProcAttr) (int, chan unix.WaitStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid, err := s.spawner.forkExec(path, argv, &syscall.ProcAttr{Dir: "/", Env: env, Files: files, Sys: sys})
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	s.waiters[pid] = ch
	return pid, ch, nil
}

// reap collects every exited child: our commands and the node's orphans.
func (s *supervisor) reap() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		if ch, ok := s.waiters[pid]; ok {
			ch <- ws
			delete(s.waiters, pid)
		}
	}
}

// startCmd runs the node's cmd, its output going to console.log (through
// the console's pipe, which keeps the log bounded).
func (s *supervisor) startCmd() error {
	argv := s.spec.Cmd
	if len(argv) == 0 {
		return nil
	}
	path, code, err := lookPath(argv[0], s.env)
	if code != 0 {
		return fmt.Errorf("cmd %q: %w", argv[0], err)
	}
	files := []uintptr{0, 1, 2}
	var r, w *os.File
	if s.console != nil {
		if r, w, err = os.Pipe(); err != nil {
			return fmt.Errorf("start cmd %q: console pipe: %w", argv[0], err)
		}
		files = []uintptr{0, w.Fd(), w.Fd()}
	}
	pid, ch, err := s.spawn(path, argv, s.env, files, &syscall.SysProcAttr{Setsid: true})
	if w != nil {
		// Only cmd (and what it starts) holds the write end now.
		w.Close()
		if err == nil {
			go s.console.pump(r)
		} else {
			r.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("start cmd %q: %w", argv[0], err)
	}
	s.cmdPid, s.cmdDone = pid, make(chan unix.WaitStatus, 1)
	go func() {
		ws := <-ch
		fmt.Fprintf(os.Stderr, "leolab-init: cmd %q exited with status %d\n", argv[0], exitCode(ws))
		s.cmdDone <- ws
	}()
	return nil
}

// run is PID 1's loop: reap, forward signals, exit on SIGTERM.
func (s *supervisor) run() int {
	for {
		select {
		case sig := <-s.sigs:
			if sig == unix.SIGCHLD {
				s.reap()
				continue
			}
			s.forward(unix.SIGTERM)
			s.awaitCmd()
			// Our exit makes the kernel kill everything left in the PID namespace.
			return 0
		case sig := <-s.others:
			if isPassedOn(sig) {
				s.forward(sig.(unix.Signal))
			}
		}
	}
}

func isPassedOn(sig os.Signal) bool {
	for _, p := range passedOn {
		if p == sig {
			return true
		}
	}
	return false
}

func (s *supervisor) forward(sig unix.Signal) {
	if s.cmdPid > 0 {
		unix.Kill(s.cmdPid, sig)
	}
}

// awaitCmd waits (reaping meanwhile) up to stopWait for cmd to exit.
func (s *supervisor) awaitCmd() {
	if s.cmdDone == nil {
		return
	}
	timeout := time.After(stopWait)
	for {
		select {
		case <-s.cmdDone:
			return
		case <-timeout:
			return
		case sig := <-s.sigs:
			if sig == unix.SIGCHLD {
				s.reap()
			}
		}
	}
}

// exitCode is a shell's view of a wait status.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// lookPath resolves argv0 with the node's PATH. A non-zero code is 127 (not
// found) or 126 (found but cannot be run).
func lookPath(argv0 string, env []string) (string, int, error) {
	if strings.Contains(argv0, "/") {
		code, err := checkExecutable(argv0)
		return argv0, code, err
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	denied := ""
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + argv0
		switch code, _ := checkExecutable(p); code {
		case 0:
			return p, 0, nil
		case 126:
			if denied == "" {
				denied = p
			}
		}
	}
	if denied != "" {
		return denied, 126, fmt.Errorf("%s: permission denied", denied)
	}
	return "", 127, fmt.Errorf("%s: executable file not found in $PATH", argv0)
}

func checkExecutable(p string) (int, error) {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 127, fmt.Errorf("%s: no such file or directory", p)
		}
		return 126, fmt.Errorf("%s: %w", p, err)
	}
	if st.IsDir() {
		return 126, fmt.Errorf("%s: is a directory", p)
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return 126, fmt.Errorf("%s: permission denied", p)
	}
	return 0, nil
}

// spawnErrorCode maps an execve failure to 127 (not found) or 126.
func spawnErrorCode(err error) int {
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}
