package node

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"leolab/internal/wire/ctlwire"
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
	cc, err := ctlwire.Dial(socket)
	if err != nil {
		return 0, err
	}
	c := &conn{cc}
	defer c.Close()
	// Cancelling ctx hangs up, which makes init kill the command.
	stop := context.AfterFunc(ctx, func() { c.Shutdown() })
	defer stop()
	req := execRequest{Argv: opts.Argv, Env: opts.Env, Tty: opts.Tty}
	if opts.Tty {
		return execTty(c, req, opts)
	}
	return ctlwire.RunPipes(cc, req, opts.Stdin, opts.Stdout, opts.Stderr)
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
		ctlwire.CloseAll(fds)
		return ctlwire.ReportExit(ev, opts.Stderr)
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
	code, err := ctlwire.AwaitExit(c.Conn, opts.Stderr, nil)
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
