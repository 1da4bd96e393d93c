package node

import (
	"encoding/json"
	"errors"
	"fmt"

	"leolab/internal/wire/ctlwire"
)

// conn is a control connection (internal/wire/ctlwire) carrying this package's
// messages: the exec messages in their own encoding, everything else
// (init's config and sync messages) as JSON.
type conn struct {
	*ctlwire.Conn
}

func newConn(fd int, name string) *conn { return &conn{ctlwire.NewConn(fd, name)} }

// wireMessage and wireParser are messages with their own encoding (the
// exec messages); every other message goes as JSON.
type (
	wireMessage interface{ Append([]byte) []byte }
	wireParser  interface{ Parse([]byte) error }
)

// send writes v as one frame, attaching fds to it.
func (c *conn) send(v any, fds ...int) error {
	if m, ok := v.(wireMessage); ok {
		return c.Send(m.Append(nil), fds...)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return c.Send(body, fds...)
}

// recv reads one frame into v and returns the fds that came with it.
func (c *conn) recv(v any) ([]int, error) {
	body, fds, err := c.Recv()
	if err != nil {
		return nil, err
	}
	if m, ok := v.(wireParser); ok {
		err = m.Parse(body)
	} else if err = json.Unmarshal(body, v); err != nil {
		err = fmt.Errorf("decode message: %w", err)
	}
	if err != nil {
		ctlwire.CloseAll(fds)
		return nil, err
	}
	return fds, nil
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
	// parent moves into the node's pids- and memory-limited cgroups (init
	// stays out).
	Spawner bool `json:"spawner,omitempty"`
}

// execRequest and execEvent are the exec messages (internal/wire/ctlwire).
type (
	execRequest = ctlwire.ExecRequest
	execEvent   = ctlwire.ExecEvent
)
