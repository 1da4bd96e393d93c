// Package ctlwire owns the wire of a node's control socket: length-prefixed
// frames on a unix stream socket with file descriptors riding along
// (SCM_RIGHTS), the exec messages' binary encoding, and the client side of
// an exec with pipes (relay, signal forwarding, exit status). node builds
// its init protocol and exec server on it; internal/quickexec runs exec
// from it before the rest of leolab has initialised, which is why it
// imports only errors, io, os, os/signal, sync and syscall (no fmt, no
// reflection: see internal/quickexec).
package ctlwire

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// MaxFrame caps one frame's body.
const MaxFrame = 16 << 20

// Conn is one end of a control connection.
type Conn struct {
	f *os.File
}

// NewConn wraps a connected unix stream socket fd, which must be
// non-blocking for its waits to go through Go's poller.
func NewConn(fd int, name string) *Conn { return &Conn{f: os.NewFile(uintptr(fd), name)} }

// Dial connects to the control socket at path.
func Dial(path string) (*Conn, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, wrap("exec: socket", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, wrap("exec: connect to node control socket "+path, err)
	}
	// Non-blocking once connected: waits then go through Go's poller and do
	// not hold an OS thread each.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, wrap("exec: control socket "+path, err)
	}
	return NewConn(fd, path), nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.f.Close() }

// Shutdown hangs up both directions while the Conn stays open: a node's
// init kills the command of an exec whose client hung up.
func (c *Conn) Shutdown() error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) }); err != nil {
		return err
	}
	return serr
}

// Send writes one frame, attaching fds to its first bytes.
func (c *Conn) Send(body []byte, fds ...int) error {
	if len(body) > MaxFrame {
		return errors.New("send message: frame too large")
	}
	hdr := appendU32(make([]byte, 0, 4), uint32(len(body)))
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	var serr error
	// The header goes out with sendmsg so the fds are tied to it.
	err = rc.Write(func(fd uintptr) bool {
		serr = syscall.Sendmsg(int(fd), hdr, oob, nil, 0)
		return serr != syscall.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return wrap("send message", err)
	}
	if _, err := c.f.Write(body); err != nil {
		return wrap("send message", err)
	}
	return nil
}

// Recv reads one frame and returns its body and the fds that came with it
// (the caller owns them, even with an error: they are closed then). A
// closed connection is io.EOF.
func (c *Conn) Recv() ([]byte, []int, error) {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	hdr := make([]byte, 4)
	oob := make([]byte, syscall.CmsgSpace(8*4))
	var n, oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), hdr, oob, syscall.MSG_CMSG_CLOEXEC)
		return rerr != syscall.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, nil, wrap("receive message", err)
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) ([]byte, []int, error) {
		CloseAll(fds)
		return nil, nil, err
	}
	if n == 0 {
		return fail(io.EOF)
	}
	if n < 4 {
		if _, err := io.ReadFull(c.f, hdr[n:]); err != nil {
			return fail(wrap("receive message", err))
		}
	}
	size := u32(hdr)
	if size > MaxFrame {
		return fail(errors.New("receive message: frame too large"))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.f, body); err != nil {
		return fail(wrap("receive message", err))
	}
	return body, fds, nil
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, wrap("parse control message", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// CloseAll closes fds.
func CloseAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// opError is "op: err", unwrapping to err (fmt.Errorf without fmt).
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

func wrap(op string, err error) error { return &opError{op, err} }
