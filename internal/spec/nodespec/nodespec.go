// Package nodespec owns the few value types that both the topology Plan and
// the node runtime use: binds, sysctls and cgroup limits, and the argv[0]
// that marks a node's init. It is a leaf (no imports) so that the node's
// init, a separate small program, links nothing of the topology parser, and
// exec's fast path (internal/quickexec) can use it before anything else
// initialises.
package nodespec

// InitArg0 is the argv[0] every node's init runs with: destroy finds inits
// by it, and a leolab binary started with it (builds without the embedded
// init) is a node's init, never a command line. internal/hostnames owns the
// init's whole argv (hostnames.InitArgv) and reads it back; this constant
// is here only for exec's fast path, which cannot import hostnames.
const InitArg0 = "leolab-init"

// Bind is a host path made visible inside a node.
type Bind struct {
	Source   string `json:"source"` // absolute host path
	Target   string `json:"target"` // absolute path inside the node
	ReadOnly bool   `json:"ro,omitempty"`
}

// Sysctl is one kernel parameter set inside a node (net.* only).
type Sysctl struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Limits are cgroup limits for one node; zero means unlimited. TmpfsBytes
// caps each tmpfs of the node; zero means the default (the node runtime's
// TmpfsSize).
type Limits struct {
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	Pids        int64   `json:"pids,omitempty"`
	CPUs        float64 `json:"cpus,omitempty"`
	TmpfsBytes  int64   `json:"tmpfs_bytes,omitempty"`
}
