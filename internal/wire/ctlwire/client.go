package ctlwire

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SendEvent sends one exec event with fds.
func (c *Conn) SendEvent(ev ExecEvent, fds ...int) error { return c.Send(ev.Append(nil), fds...) }

// RecvEvent receives one exec event and the fds that came with it.
func (c *Conn) RecvEvent() (ExecEvent, []int, error) {
	var ev ExecEvent
	body, fds, err := c.Recv()
	if err == nil {
		err = ev.Parse(body)
	}
	if err != nil {
		CloseAll(fds)
		return ev, nil, err
	}
	return ev, fds, nil
}

// RunPipes runs req (not Tty) in the node at the other end of c with three
// fresh pipes for its stdio, relayed from stdin (nil: the command's stdin
// is closed) and to stdout and stderr (nil: discarded), and forwards
// SIGINT and SIGTERM to it. The client never passes its own fds to a node.
// It returns the command's exit code; err is only for transport problems.
func RunPipes(c *Conn, req ExecRequest, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var ends [3][2]*os.File // [i][0] read end, [i][1] write end
	for i := range ends {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, wrap("exec: pipe", err)
		}
		ends[i] = [2]*os.File{r, w}
		defer r.Close()
		defer w.Close()
	}
	nodeSide := []int{int(ends[0][0].Fd()), int(ends[1][1].Fd()), int(ends[2][1].Fd())}
	if err := c.Send(req.Append(nil), nodeSide...); err != nil {
		return 0, wrap("exec", err)
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
	go copyOut(stdout, ends[1][0])
	go copyOut(stderr, ends[2][0])
	go func() {
		if stdin != nil {
			io.Copy(ends[0][1], stdin)
		}
		ends[0][1].Close()
	}()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	code, err := AwaitExit(c, stderr, sigs)
	if err != nil {
		return code, err
	}
	wg.Wait()
	return code, nil
}

// AwaitExit reads events until the exit status arrives, forwarding the
// signals from sigs (nil: none) meanwhile.
func AwaitExit(c *Conn, stderr io.Writer, sigs chan os.Signal) (int, error) {
	events := make(chan ExecEvent, 2)
	errc := make(chan error, 1)
	go func() {
		for {
			ev, fds, err := c.RecvEvent()
			CloseAll(fds)
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
			if sig, ok := s.(syscall.Signal); ok {
				c.SendEvent(ExecEvent{Type: "signal", Signal: int(sig)})
			}
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				return 0, errors.New("exec: node closed the connection before the command's exit status")
			}
			return 0, wrap("exec", err)
		case ev := <-events:
			if ev.Type == "exit" {
				return ReportExit(ev, stderr)
			}
		}
	}
}

// ReportExit turns an exit event into the result, printing init's reason
// (not found, permission denied) to stderr.
func ReportExit(ev ExecEvent, stderr io.Writer) (int, error) {
	if ev.Type != "exit" {
		return 0, errors.New("exec: unexpected " + quote(ev.Type) + " from node")
	}
	if ev.Error != "" && stderr != nil {
		io.WriteString(stderr, "leolab exec: "+ev.Error+"\n")
	}
	return ev.Code, nil
}

// quote is a minimal %q for short protocol words.
func quote(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}
