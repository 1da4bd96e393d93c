package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Exec runs a command inside a running node by asking its init (already in
// every namespace, cgroup and the root of the node) to start it as its
// child: Go cannot setns into a mount namespace from a multi-threaded
// process, and init's child inherits exactly the node's privileges. The
// client passes only fresh pipe ends (or receives a pty master from the
// node's own devpts), never its own fds. exitCode is the command's status,
// 126 cannot run, 127 not found, 128+N killed by signal N; err is only for
// transport problems.
func Exec(ctx context.Context, socket string, opts ExecOptions) (int, error) {
	if len(opts.Argv) == 0 {
		return 0, fmt.Errorf("exec: empty command")
	}
	c, err := dialControl(socket)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	// Cancelling ctx hangs up, which makes init kill the command.
	stop := context.AfterFunc(ctx, func() { unix.Shutdown(int(c.f.Fd()), unix.SHUT_RDWR) })
	defer stop()
	req := execRequest{Argv: opts.Argv, Env: opts.Env, Tty: opts.Tty}
	if opts.Tty {
		return execTty(c, req, opts)
	}
	return execPipes(c, req, opts)
}

func dialControl(socket string) (*conn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("exec: socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("exec: connect to node control socket %s: %w", socket, err)
	}
	// Non-blocking once connected: waits then go through Go's poller and do
	// not hold an OS thread each (every extra thread is a clone and fresh
	// stacks on the exec path).
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("exec: control socket %s: %w", socket, err)
	}
	return newConn(fd, socket), nil
}

// execPipes runs the command with three fresh pipes for its stdio.
func execPipes(c *conn, req execRequest, opts ExecOptions) (int, error) {
	var ends [3][2]*os.File // [i][0] read end, [i][1] write end
	for i := range ends {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, fmt.Errorf("exec: pipe: %w", err)
		}
		ends[i] = [2]*os.File{r, w}
		defer r.Close()
		defer w.Close()
	}
	nodeSide := []int{int(ends[0][0].Fd()), int(ends[1][1].Fd()), int(ends[2][1].Fd())}
	if err := c.send(req, nodeSide...); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	// Only the node holds its ends now, so our reads see EOF when it is done.
	ends[0][0].Close()
	ends[1][1].Close()
	ends[2][1].Close()

	var wg sync.WaitGroup
	copyOut := func(w io.Writer, r *os.File) {
		defer wg.Done()
		if w == nil {
			w = io.Discard
		}
		io.Copy(w, r)
	}
	wg.Add(2)
	go copyOut(opts.Stdout, ends[1][0])
	go copyOut(opts.Stderr, ends[2][0])
	go func() {
		if opts.Stdin != nil {
			io.Copy(ends[0][1], opts.Stdin)
		}
		ends[0][1].Close()
	}()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	defer signal.Stop(sigs)
	code, err := awaitExit(c, opts.Stderr, nil, sigs)
	if err != nil {
		return code, err
	}
	wg.Wait()
	return code, nil
}

// execTty runs the command on a pty of the node and relays the caller's
// stdio to its master.
func execTty(c *conn, req execRequest, opts ExecOptions) (int, error) {
	inFile, _ := opts.Stdin.(*os.File)
	isTerm := inFile != nil && term.IsTerminal(int(inFile.Fd()))
	if isTerm {
		if ws, err := unix.IoctlGetWinsize(int(inFile.Fd()), unix.TIOCGWINSZ); err == nil {
			req.Rows, req.Cols = ws.Row, ws.Col
		}
	}
	if req.Rows == 0 {
		req.Rows, req.Cols = 24, 80
	}
	if os.Getenv("TERM") != "" {
		req.Env = mergeEnv([]string{"TERM=" + os.Getenv("TERM")}, req.Env)
	} else {
		req.Env = mergeEnv([]string{"TERM=xterm"}, req.Env)
	}
	if err := c.send(req); err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	var ev execEvent
	fds, err := c.recv(&ev)
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	if ev.Type != "started" || len(fds) != 1 {
		closeAll(fds)
		return reportEarlyExit(ev, opts.Stderr)
	}
	master := os.NewFile(uintptr(fds[0]), "pty")
	defer master.Close()
	if isTerm {
		if old, err := term.MakeRaw(int(inFile.Fd())); err == nil {
			defer term.Restore(int(inFile.Fd()), old)
		}
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
		go relayWinch(winch, inFile, master)
	}
	outDone := make(chan struct{})
	go func() {
		if opts.Stdout != nil {
			io.Copy(opts.Stdout, master) // ends with EIO once every slave fd is closed
		}
		close(outDone)
	}()
	if opts.Stdin != nil {
		go io.Copy(master, opts.Stdin)
	}
	code, err := awaitExit(c, opts.Stderr, &ev, nil)
	if err != nil {
		return code, err
	}
	<-outDone
	return code, nil
}

func relayWinch(winch chan os.Signal, in, master *os.File) {
	for range winch {
		if ws, err := unix.IoctlGetWinsize(int(in.Fd()), unix.TIOCGWINSZ); err == nil {
			unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
		}
	}
}

// awaitExit reads events until the exit status arrives, forwarding the
// caller's signals (non-tty) meanwhile. started, when non-nil, is the
// "started" event already read.
func awaitExit(c *conn, stderr io.Writer, started *execEvent, sigs chan os.Signal) (int, error) {
	events := make(chan execEvent, 2)
	errc := make(chan error, 1)
	go func() {
		for {
			var ev execEvent
			fds, err := c.recv(&ev)
			closeAll(fds)
			if err != nil {
				errc <- err
				return
			}
			events <- ev
			if ev.Type == "exit" {
				return
			}
		}
	}()
	for {
		select {
		case s := <-sigs:
			if sig, ok := s.(unix.Signal); ok {
				c.send(execEvent{Type: "signal", Signal: int(sig)})
			}
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("exec: node closed the connection before the command's exit status")
			}
			return 0, fmt.Errorf("exec: %w", err)
		case ev := <-events:
			if ev.Type == "exit" {
				return reportEarlyExit(ev, stderr)
			}
		}
	}
}

// reportEarlyExit turns an exit event into the result, printing init's
// reason (not found, permission denied) to the caller's stderr.
func reportEarlyExit(ev execEvent, stderr io.Writer) (int, error) {
	if ev.Type != "exit" {
		return 0, fmt.Errorf("exec: unexpected %q from node", ev.Type)
	}
	if ev.Error != "" && stderr != nil {
		fmt.Fprintf(stderr, "leolab exec: %s\n", ev.Error)
	}
	return ev.Code, nil
}
