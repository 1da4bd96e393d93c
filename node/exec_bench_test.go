//go:build linux

package node

import (
	"context"
	"testing"

	"leolab/internal/nstest"
)

// BenchmarkExecTrue is the node side of `leolab exec NODE -- true`: connect
// to the control socket, have init start `true` in the node with three
// fresh pipes, wait for its exit status. The CLI adds its own start-up.
func BenchmarkExecTrue(b *testing.B) {
	nstest.RequireRoot(b)
	spec := newSpec(b, "bench")
	startNode(b, spec)
	ctx := context.Background()
	for b.Loop() {
		code, err := Exec(ctx, spec.Socket, ExecOptions{Argv: []string{"true"}})
		if err != nil || code != 0 {
			b.Fatalf("exec true: code %d, %v", code, err)
		}
	}
}
