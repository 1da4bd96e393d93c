package labs

import (
	"io"
	"runtime"

	"leolab/internal/hostnames"
)

// DefaultRoot is the data and state directory when neither --root nor
// LEOLAB_ROOT is given.
const DefaultRoot = hostnames.DefaultRoot

// Manager runs lab operations against one leolab root directory.
type Manager struct {
	Root     string
	Progress io.Writer // per-node progress; nil discards
	Live     bool      // Progress is a terminal: one status line rewritten in place

	// Caps on one unpacked image (0: rootfs defaults, 8 GiB and 1M entries).
	MaxImageBytes   int64
	MaxImageEntries int
	Quiet           bool

	// The deploy engine's and teardown's ways to the kernel and the image
	// cache (seams.go); nil: packages bridge, node and rootfs.
	netw  network
	nodes runner
	imgs  imageStore
}

func (m *Manager) labsDir() string             { return hostnames.LabsDir(m.Root) }
func (m *Manager) labDir(lab string) string    { return hostnames.LabDir(m.Root, lab) }
func (m *Manager) statePath(lab string) string { return hostnames.StatePath(m.Root, lab) }
func (m *Manager) locksDir() string            { return hostnames.LocksDir(m.Root) }
func (m *Manager) lockPath(lab string) string  { return hostnames.LockPath(m.Root, lab) }

// nodeDir is where a node's layer, console log and working files live.
func (m *Manager) nodeDir(lab, node string) string { return hostnames.NodeDir(m.Root, lab, node) }

// socketPath is the node's control socket. It is kept short (index, not
// name) because unix socket paths are limited to 107 bytes.
func (m *Manager) socketPath(lab string, index int) string {
	return hostnames.ControlSocket(m.Root, lab, index)
}

// controlLink, in the node's directory, points at its control socket: exec
// finds a node by name without reading the lab's state.
func (m *Manager) controlLink(lab, node string) string {
	return hostnames.ControlLink(m.Root, lab, node)
}

// DefaultWorkers is the deploy worker pool size: most steps wait on the
// kernel, not the CPU, so a multiple of the CPU count keeps it busy.
func DefaultWorkers() int { return 4 * runtime.NumCPU() }
