package node

import (
	"testing"

	"leolab/internal/spec/nodespec"
)

// TestTmpfsSize: limits.tmpfs wins, else the memory limit, else the default.
func TestTmpfsSize(t *testing.T) {
	for _, c := range []struct {
		lim  nodespec.Limits
		want int64
	}{
		{nodespec.Limits{}, DefaultTmpfsSize},
		{nodespec.Limits{Pids: 10}, DefaultTmpfsSize},
		{nodespec.Limits{MemoryBytes: 32 << 20}, 32 << 20},
		{nodespec.Limits{MemoryBytes: 32 << 20, TmpfsBytes: 1 << 30}, 1 << 30},
	} {
		if got := tmpfsSize(c.lim); got != c.want {
			t.Errorf("tmpfsSize(%+v) = %d, want %d", c.lim, got, c.want)
		}
	}
	if got, want := tmpfsData("1777", 64<<20), "mode=1777,size=67108864,nr_inodes=65536"; got != want {
		t.Errorf("tmpfsData = %q, want %q", got, want)
	}
	if got, want := tmpfsData("755", 4096), "mode=755,size=4096,nr_inodes=1024"; got != want {
		t.Errorf("tmpfsData of a tiny size = %q, want %q", got, want)
	}
}
