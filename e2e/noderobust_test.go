//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// TestNodeCgroupNamespaceRootedAtNode: inside a node, /proc/1/cgroup reads
// "/" in every hierarchy (the node's cgroup namespace is rooted at the
// node's own cgroups), and no process of the node sees a host cgroup path.
func TestNodeCgroupNamespaceRootedAtNode(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("cgns.yaml", "name: rncgns\nnodes:\n  plain: {}\n  limited:\n    limits: {memory: 64M, pids: 32, cpus: 0.5}\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rncgns")
	for _, node := range []string{"plain", "limited"} {
		out := e.must("exec", node, "--", "cat", "/proc/1/cgroup")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.SplitN(line, ":", 3)
			if len(f) != 3 || f[2] != "/" {
				t.Errorf("%s: /proc/1/cgroup line %q, want path /", node, line)
			}
		}
		self := e.must("exec", node, "--", "cat", "/proc/self/cgroup")
		if strings.Contains(self, "..") || strings.Contains(self, "leolab") {
			t.Errorf("%s: /proc/self/cgroup shows host paths:\n%s", node, self)
		}
	}
}
