package labs

import (
	"maps"
	"os"
	"slices"
	"testing"

	"leolab/node"
	"leolab/topology"
)

func TestLineDiff(t *testing.T) {
	gone, added := lineDiff("a\nb\nc\n", "b\nd\nc\ne\n")
	if !maps.Equal(gone, map[string]bool{"a": true}) || !slices.Equal(added, []string{"d", "e"}) {
		t.Errorf("lineDiff: gone %v added %v", gone, added)
	}
	gone, added = lineDiff("a\nb\n", "b\na\n")
	if len(gone) != 0 || len(added) != 0 {
		t.Errorf("reordered lines differ: gone %v added %v", gone, added)
	}
}

// A state with a pending change covers both plans: destroy removes what
// either has.
func TestEverythingUnionsThePendingTarget(t *testing.T) {
	old := &topology.Plan{Name: "l", Nodes: []topology.Node{{Name: "a"}, {Name: "b"}}, Bridges: []topology.Bridge{{Name: "x"}}}
	target := &topology.Plan{Name: "l", Nodes: []topology.Node{{Name: "b"}, {Name: "c"}}, Bridges: []topology.Bridge{{Name: "y"}},
		Links: []topology.Link{{Endpoints: [2]topology.Endpoint{{Node: "b", Iface: "e1"}, {Node: "c", Iface: "e1"}}}}}
	st := &State{Plan: old}
	if st.everything() != old {
		t.Errorf("no pending change: everything is not the plan")
	}
	st.Pending = &PendingChange{Target: target}
	u := st.everything()
	if got := nodeNames(u); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("nodes %v", got)
	}
	if len(u.Bridges) != 2 || len(u.Links) != 1 {
		t.Errorf("bridges %v links %v", u.Bridges, u.Links)
	}
	if len(old.Nodes) != 2 {
		t.Errorf("the recorded plan was changed")
	}
}

// What an interrupted change touched is made again; a dead node restarts.
func TestPlanChangeRedoesAnInterruptedChange(t *testing.T) {
	old := &topology.Plan{Name: "l", Nodes: []topology.Node{{Name: "a"}, {Name: "b"}}}
	mid := &topology.Plan{Name: "l", Nodes: []topology.Node{{Name: "a"}, {Name: "b", Rootfs: "host"}, {Name: "c"}}}
	st := &State{Plan: old, Pending: &PendingChange{Target: mid}, Nodes: map[string]*NodeState{}}
	m := &Manager{}
	pc := m.planChange(st, old) // roll back
	if !slices.Equal(pc.diff.RemoveNodes, []string{"c"}) {
		t.Errorf("remove %v, want c (added by the interrupted change)", pc.diff.RemoveNodes)
	}
	if !slices.Contains(pc.diff.RecreateNodes, "b") || !slices.Contains(pc.diff.RecreateNodes, "a") {
		t.Errorf("recreate %v, want b (changed) and a (not running)", pc.diff.RecreateNodes)
	}
	// With both nodes alive, only what the interrupted change touched is
	// made again: b, not a.
	start, err := node.StartTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	alive := func() *NodeState { return &NodeState{Pid: os.Getpid(), StartTime: start} }
	st.Nodes = map[string]*NodeState{"a": alive(), "b": alive()}
	pc = m.planChange(st, old)
	if !slices.Equal(pc.diff.RecreateNodes, []string{"b"}) {
		t.Errorf("recreate %v with both nodes alive, want only b (touched by the interrupted change)", pc.diff.RecreateNodes)
	}
}
