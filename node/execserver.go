package node

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"leolab/internal/wire/ctlwire"
)

// serve starts accepting exec requests on the inherited control listener.
// Each connection is handled on its own goroutine, so execs run concurrently.
func (s *supervisor) serve(fd int) error {
	// Non-blocking so accept waits in Go's poller instead of pinning a thread.
	if err := unix.SetNonblock(fd, true); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	// The only *os.File for this fd: a second one would close it when collected.
	s.listener = os.NewFile(uintptr(fd), "control")
	rc, err := s.listener.SyscallConn()
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	go func() {
		for {
			var nfd int
			var aerr error
			err := rc.Read(func(fd uintptr) bool {
				nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
				return aerr != unix.EAGAIN
			})
			if err == nil {
				err = aerr
			}
			if err != nil {
				if err == unix.EINTR || err == unix.ECONNABORTED || err == unix.EMFILE {
					continue
				}
				fmt.Fprintf(os.Stderr, "leolab-init: accept: %v\n", err)
				return
			}
			go s.handleExec(newConn(nfd, "exec"))
		}
	}()
	return nil
}

// handleExec runs one command for one client, then reports its exit status.
func (s *supervisor) handleExec(c *conn) {
	defer c.Close()
	var req execRequest
	fds, err := c.recv(&req)
	if err != nil {
		return
	}
	pid, done, err := s.startExec(c, &req, fds)
	ctlwire.CloseAll(fds)
	if err != nil {
		return
	}
	finished := make(chan struct{})
	// The client may send signals; its hangup kills the command.
	go func() {
		for {
			var ev execEvent
			_, err := c.recv(&ev)
			select {
			case <-finished:
				return // reaped: the pid may belong to someone else now
			default:
			}
			if err != nil {
				unix.Kill(pid, unix.SIGKILL)
				return
			}
			if ev.Type == "signal" && ev.Signal > 0 && ev.Signal < 65 {
				unix.Kill(pid, unix.Signal(ev.Signal))
			}
		}
	}()
	ws := <-done
	close(finished)
	c.send(execEvent{Type: "exit", Code: exitCode(ws)})
}

// startExec starts the command of req; with a tty it gets a fresh pty of the
// node's own devpts and the master goes back to the client. On failure the
// client has been sent the exit event.
func (s *supervisor) startExec(c *conn, req *execRequest, fds []int) (int, chan unix.WaitStatus, error) {
	fail := func(code int, err error) (int, chan unix.WaitStatus, error) {
		c.send(execEvent{Type: "exit", Code: code, Error: err.Error()})
		return 0, nil, err
	}
	if len(req.Argv) == 0 {
		return fail(126, fmt.Errorf("empty command"))
	}
	env := mergeEnv(s.env, req.Env)
	path, code, err := lookPath(req.Argv[0], env)
	if code != 0 {
		return fail(code, err)
	}
	sys := &syscall.SysProcAttr{Setsid: true}
	var files []uintptr
	master := -1
	if req.Tty {
		var slave int
		if master, slave, err = openPty(req.Rows, req.Cols); err != nil {
			return fail(126, err)
		}
		defer unix.Close(slave)
		defer unix.Close(master)
		files = []uintptr{uintptr(slave), uintptr(slave), uintptr(slave)}
		// The pty becomes the controlling terminal of the command's new session.
		sys.Setctty, sys.Ctty = true, 0
	} else {
		if len(fds) != 3 {
			return fail(126, fmt.Errorf("expected 3 stdio fds, got %d", len(fds)))
		}
		files = []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])}
	}
	pid, done, err := s.spawn(path, req.Argv, env, files, sys)
	if err != nil {
		return fail(spawnErrorCode(err), fmt.Errorf("%s: %w", req.Argv[0], err))
	}
	var pass []int
	if master >= 0 {
		pass = []int{master}
	}
	if err := c.send(execEvent{Type: "started"}, pass...); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		<-done
		return 0, nil, err
	}
	return pid, done, nil
}

// openPty opens a new pty pair in the node's /dev/pts.
func openPty(rows, cols uint16) (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return -1, -1, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		unix.Close(master)
		return -1, -1, fmt.Errorf("pty number: %w", err)
	}
	if rows > 0 && cols > 0 {
		unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	}
	slave, err = unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(master)
		return -1, -1, fmt.Errorf("open pty slave: %w", err)
	}
	return master, slave, nil
}
