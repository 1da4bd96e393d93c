package labs

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
)

// TestLockedWriterKeepsBothStreams: the exec client copies stdout and
// stderr on two goroutines with io.Copy; through a lockedWriter both end up
// whole in one buffer. A bare bytes.Buffer offers io.ReaderFrom, which
// io.Copy would call from both goroutines at once (output lost, at random).
func TestLockedWriterKeepsBothStreams(t *testing.T) {
	var out bytes.Buffer
	w := &lockedWriter{w: &out}
	if _, ok := io.Writer(w).(io.ReaderFrom); ok {
		t.Fatal("lockedWriter offers ReadFrom: io.Copy would bypass its lock")
	}
	var wg sync.WaitGroup
	for _, s := range []string{strings.Repeat("o", 1<<16), strings.Repeat("e", 1<<16)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(w, strings.NewReader(s))
		}()
	}
	wg.Wait()
	if got := out.Len(); got != 2<<16 {
		t.Errorf("%d bytes kept of %d", got, 2<<16)
	}
}
