// Package nodespec owns the few value types that both the topology Plan and
// the node runtime use: binds, sysctls and cgroup limits. It is a leaf (no
// imports) so that the node's init, a separate small program, links nothing
// of the topology parser.
package nodespec

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

// Limits are cgroup limits for one node; zero means unlimited.
type Limits struct {
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	Pids        int64   `json:"pids,omitempty"`
	CPUs        float64 `json:"cpus,omitempty"`
}
