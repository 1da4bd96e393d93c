package labs

import (
	"os"
	"strings"
	"testing"

	"leolab/capture"
	"leolab/topology"
)

func TestCaptureBridgeResolvesHostAndIsolatedLabs(t *testing.T) {
	m := &Manager{Root: t.TempDir()}
	for _, l := range []struct{ name, dev, netns string }{{"one", "lo1-lan", ""}, {"two", "lo2-lan", "leolab-two"}} {
		if err := os.MkdirAll(m.labDir(l.name), 0o755); err != nil {
			t.Fatal(err)
		}
		st := &State{Version: 1, Phase: PhaseRunning, Plan: &topology.Plan{Name: l.name, LabNetns: l.netns,
			Bridges: []topology.Bridge{{Name: "lan", Device: l.dev}, {Name: "only-" + l.name, Device: l.dev + "x"}}}}
		if err := writeState(m.statePath(l.name), st); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		lab, name string
		want      capture.Endpoint
		err       string
	}{
		{"", "only-one", capture.Endpoint{Name: "bridge:only-one", Dev: "lo1-lanx"}, ""},
		{"two", "lan", capture.Endpoint{Name: "bridge:lan", Netns: "/run/netns/leolab-two", Dev: "lo2-lan"}, ""},
		{"", "one/lan", capture.Endpoint{Name: "bridge:lan", Dev: "lo1-lan"}, ""},
		{"", "lan", capture.Endpoint{}, "bridge lan is in several labs (one, two)"},
		{"one", "nope", capture.Endpoint{}, "no bridge nope in lab one"},
		{"", "nope", capture.Endpoint{}, "no bridge nope in any running lab"},
	} {
		got, err := m.CaptureBridge(c.lab, c.name)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("CaptureBridge(%q, %q): %v, want error %q", c.lab, c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("CaptureBridge(%q, %q) = %+v, %v; want %+v", c.lab, c.name, got, err, c.want)
		}
	}
}
