package check

import (
	"context"
	"io"

	"leolab/topology"
)

// Lab is a running lab as checks and traces see it.
type Lab struct {
	Plan *topology.Plan
	// Netns is the path of a node's network namespace.
	Netns func(node string) string
	// Pid is the host pid of a node's init, 0 when it is not running.
	Pid func(node string) int
	// Exec runs argv in a node with stdout and stderr to out and returns
	// its exit status.
	Exec func(ctx context.Context, node string, argv []string, out io.Writer) (int, error)
}

func (l *Lab) node(name string) *topology.Node {
	for i := range l.Plan.Nodes {
		if l.Plan.Nodes[i].Name == name {
			return &l.Plan.Nodes[i]
		}
	}
	return nil
}
