package node

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// conn is a unix stream socket carrying length-prefixed JSON frames; file
// descriptors ride along with a frame's 4-byte header (SCM_RIGHTS).
type conn struct {
	f *os.File
}

const maxFrame = 16 << 20

func newConn(fd int, name string) *conn { return &conn{f: os.NewFile(uintptr(fd), name)} }

func (c *conn) Close() error { return c.f.Close() }

// send writes one frame, attaching fds to its first bytes.
func (c *conn) send(v any, fds ...int) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	hdr := make([]byte, 4)
	binary.BigEndian.PutUint32(hdr, uint32(len(body)))
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	var serr error
	// The header goes out with sendmsg so the fds are tied to it.
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), hdr, oob, nil, 0)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	if _, err := c.f.Write(body); err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// recv reads one frame into v and returns the fds that came with it.
func (c *conn) recv(v any) ([]int, error) {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(8*4))
	var n, oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), hdr, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("receive message: %w", err)
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if n == 0 {
		closeAll(fds)
		return nil, io.EOF
	}
	if n < 4 {
		if _, err := io.ReadFull(c.f, hdr[n:]); err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("receive message: %w", err)
		}
	}
	size := binary.BigEndian.Uint32(hdr)
	if size > maxFrame {
		closeAll(fds)
		return nil, fmt.Errorf("receive message: frame of %d bytes is too large", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.f, body); err != nil {
		closeAll(fds)
		return nil, fmt.Errorf("receive message: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		closeAll(fds)
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return fds, nil
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// syncMsg is what init and its parent tell each other over the sync socket.
type syncMsg struct {
	Stage     string `json:"stage,omitempty"` // "built", "ready", "go"
	Error     string `json:"error,omitempty"`
	RootMount bool   `json:"root_mount,omitempty"` // Error is ErrRootMount
	// SpawnerTID, with "built": the thread that forks every process of a
	// node whose pids are limited, for the parent to move into the limit.
	SpawnerTID int `json:"spawner_tid,omitempty"`
}

// ErrRootMount marks a node whose root filesystem itself could not be
// mounted (e.g. an overlay the kernel refuses for this image): the caller
// may start it again on a full copy.
var ErrRootMount = errors.New("root filesystem mount failed")

// initError is an error init reported over the sync socket.
type initError struct {
	msg       string
	rootMount bool
}

func (e *initError) Error() string { return e.msg }

func (e *initError) Is(target error) bool { return target == ErrRootMount && e.rootMount }

// initConfig is the parent's first message to init.
type initConfig struct {
	Spec       Spec   `json:"spec"`
	ResolvConf string `json:"resolv_conf"`
	// RootFds: with a user namespace, one detached idmapped mount per root
	// mount (in order), created by the parent; sent as fds with this frame.
	IDMapped bool `json:"idmapped,omitempty"`
	// Spawner: fork every process from one dedicated thread, which the
	// parent moves into the node's pids-limited cgroup (init stays out).
	Spawner bool `json:"spawner,omitempty"`
}

// execRequest is a client's request to run a command in the node.
type execRequest struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env,omitempty"`
	Tty  bool     `json:"tty,omitempty"`
	Rows uint16   `json:"rows,omitempty"`
	Cols uint16   `json:"cols,omitempty"`
}

// execEvent is a message on an exec connection: "started" (init → client,
// with the pty master fd when Tty), "signal" (client → init), "exit" (init →
// client).
type execEvent struct {
	Type   string `json:"type"`
	Signal int    `json:"signal,omitempty"`
	Code   int    `json:"code,omitempty"`
	Error  string `json:"error,omitempty"`
}
