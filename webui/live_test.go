package webui

import "testing"

// A stats message carries only what changed, and the whole state when
// something went away (a delta cannot remove).
func TestDiffStats(t *testing.T) {
	up := ifaceStats{Up: true, Oper: "up"}
	old := map[string]labStats{"a": {Nodes: map[string]string{"r1": "running", "r2": "running"},
		Ifaces: map[string]ifaceStats{"r1:eth0": up, "r2:eth0": up}}}
	same := map[string]labStats{"a": {Nodes: map[string]string{"r1": "running", "r2": "running"},
		Ifaces: map[string]ifaceStats{"r1:eth0": up, "r2:eth0": up}}}
	if d, whole := diffStats(old, same); whole || len(d) != 0 {
		t.Errorf("no change: delta %v whole %v", d, whole)
	}
	down := ifaceStats{Oper: "lowerlayerdown"}
	changed := map[string]labStats{"a": {Nodes: map[string]string{"r1": "running", "r2": "exited"},
		Ifaces: map[string]ifaceStats{"r1:eth0": up, "r2:eth0": down}}}
	d, whole := diffStats(old, changed)
	if whole || len(d["a"].Nodes) != 1 || d["a"].Nodes["r2"] != "exited" || len(d["a"].Ifaces) != 1 || d["a"].Ifaces["r2:eth0"] != down {
		t.Errorf("r2 changed: delta %v whole %v", d, whole)
	}
	gone := map[string]labStats{"a": {Nodes: map[string]string{"r1": "running"}, Ifaces: map[string]ifaceStats{"r1:eth0": up}}}
	if _, whole := diffStats(old, gone); !whole {
		t.Error("an interface went away: want the whole state")
	}
	if _, whole := diffStats(old, map[string]labStats{}); !whole {
		t.Error("a lab went away: want the whole state")
	}
}
