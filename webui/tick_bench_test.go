package webui

import (
	"os"
	"testing"
	"time"

	"leolab/labs"
)

// BenchmarkTick is one idle second of the live view on the labs deployed
// under $LEOLAB_UI_BENCH_ROOT (e.g. uibench's 1000-node lab).
func BenchmarkTick(b *testing.B) {
	root := os.Getenv("LEOLAB_UI_BENCH_ROOT")
	if root == "" {
		b.Skip("LEOLAB_UI_BENCH_ROOT names no root with a deployed lab")
	}
	h := newHub(&labs.Manager{Root: root, Quiet: true}, "", time.Second)
	ch := make(chan []byte, 2) // a listener that takes every message
	h.subs[ch] = true
	defer h.reset()
	h.tick()
	for b.Loop() {
		for len(ch) > 0 {
			<-ch
		}
		h.tick()
	}
}
