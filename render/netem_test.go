package render

import (
	"testing"
	"time"

	"leolab/topology"
)

func TestNetem(t *testing.T) {
	for _, c := range []struct {
		n    *topology.Netem
		want string
	}{
		{nil, "no impairment"},
		{&topology.Netem{}, "no impairment"},
		{&topology.Netem{Duplicate: 1}, "no impairment"}, // netem show prints delay, jitter, loss and rate only
		{&topology.Netem{Delay: 50 * time.Millisecond}, "delay 50ms"},
		{&topology.Netem{Delay: 20 * time.Millisecond, Jitter: 2500 * time.Microsecond, LossPct: 0.5, RateBits: 10_000_000},
			"delay 20ms jitter 2.5ms loss 0.5% rate 10000000bit"},
		{&topology.Netem{LossPct: 100}, "loss 100%"},
	} {
		if got := Netem(c.n); got != c.want {
			t.Errorf("Netem(%+v) = %q, want %q", c.n, got, c.want)
		}
	}
}
