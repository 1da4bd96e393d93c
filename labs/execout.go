package labs

import (
	"bytes"
	"context"
	"io"
	"sync"

	"leolab/node"
)

// lockedWriter lets a command's stdout and stderr share one writer. The
// exec client copies each stream on its own goroutine; a bytes.Buffer
// shared bare would be written (and, through its ReadFrom, grown) by both
// at once, and lose output.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write is the only method: io.Copy must not find a ReaderFrom behind it.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runLine runs a shell line in the node behind socket and returns its exit
// status and its stdout and stderr, interleaved as written.
func runLine(ctx context.Context, socket, line string) (int, []byte, error) {
	var out bytes.Buffer
	w := &lockedWriter{w: &out}
	code, err := node.Exec(ctx, socket, node.ExecOptions{
		Argv: []string{"/bin/sh", "-c", line}, Stdout: w, Stderr: w,
	})
	return code, bytes.TrimSpace(out.Bytes()), err
}
