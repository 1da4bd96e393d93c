package node

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"leolab/internal/wire/ctlwire"
)

// Tty is a command running on a pty of a node, for callers that relay the
// terminal themselves (the web UI's terminals): Master is the pty's master
// end, received from the node's init as `exec -t` receives it.
type Tty struct {
	Master *os.File
	c      *conn
	stop   func() bool
}

// OpenTty starts argv on a new rows×cols pty in the node whose control
// socket is socket, with TERM=xterm unless env sets it. Cancelling ctx
// hangs up, which makes the node's init kill the command.
func OpenTty(ctx context.Context, socket string, argv, env []string, rows, cols uint16) (*Tty, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("exec: empty command")
	}
	if rows == 0 || cols == 0 {
		rows, cols = 24, 80
	}
	cc, err := ctlwire.Dial(socket)
	if err != nil {
		return nil, err
	}
	c := &conn{cc}
	req := execRequest{Argv: argv, Env: mergeEnv([]string{"TERM=xterm"}, env), Tty: true, Rows: rows, Cols: cols}
	if err := c.send(req); err != nil {
		c.Close()
		return nil, fmt.Errorf("exec: %w", err)
	}
	var ev execEvent
	fds, err := c.recv(&ev)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("exec: %w", err)
	}
	if ev.Type != "started" || len(fds) != 1 {
		ctlwire.CloseAll(fds)
		c.Close()
		if ev.Type == "exit" && ev.Error != "" {
			return nil, fmt.Errorf("exec %s: %s", argv[0], ev.Error)
		}
		return nil, fmt.Errorf("exec %s: the node did not start it (%s)", argv[0], ev.Type)
	}
	t := &Tty{Master: os.NewFile(uintptr(fds[0]), "pty"), c: c}
	t.stop = context.AfterFunc(ctx, func() { c.Shutdown() })
	return t, nil
}

// Resize sets the pty's window size (the command gets SIGWINCH).
func (t *Tty) Resize(rows, cols uint16) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	return unix.IoctlSetWinsize(int(t.Master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}

// Wait returns the command's exit status once it has exited.
func (t *Tty) Wait() (int, error) { return ctlwire.AwaitExit(t.c.Conn, io.Discard, nil) }

// Close hangs up (the node kills the command if it still runs) and closes
// the master.
func (t *Tty) Close() error {
	t.stop()
	t.c.Shutdown()
	t.c.Close()
	return t.Master.Close()
}
