package labs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"leolab/internal/hostnames"
	"leolab/topology"
)

// The engine and teardown tests run on a fakeWorld (fakes_test.go): no
// root, nothing on the host touched, the leolab root a temporary directory.

// seamsTopo has a node on each of two bridges, one with NAT, a link between
// them, a node joining later (After), IPv6 (so NAT66, forward6 rules and
// ipv6 settings), an overlay and exec lines: every kind of call the engine
// makes.
const seamsTopo = `name: seamt
ipv6: true
bridges:
  lan1: {nat: true}
  lan2: {}
nodes:
  a: {interfaces: {eth0: lan1}, exec: ["echo a"]}
  b: {interfaces: {eth0: lan2}, rootfs: host}
  c: {interfaces: {eth0: lan1}}
links:
  - endpoints: [a:eth1, b:eth1]
  - endpoints: [b:eth2, c:eth1]
`

// newSeamsLab plans seamsTopo, as planAndRecord does but consulting nothing
// on the host, and returns a manager on a fake world. The state is not on
// disk yet: the engine's first step writes it.
func newSeamsLab(t *testing.T) (*Manager, *State, *fakeWorld) {
	return newSeamsLabIn(t, false)
}

// newSeamsLabIn is newSeamsLab, in a lab namespace of its own if isolated.
func newSeamsLabIn(t *testing.T, isolated bool) (*Manager, *State, *fakeWorld) {
	t.Helper()
	topo := seamsTopo
	if isolated { // no NAT: the lab namespace has no way out
		topo = strings.Replace(topo, "{nat: true}", "{}", 1)
	}
	plan, err := topology.Parse("seamt.yaml", []byte(topo), topology.Options{Isolated: isolated})
	if err != nil {
		t.Fatal(err)
	}
	plan.Nodes[2].After = []string{"a"}
	plan.Nodes[2].Overlay = t.TempDir()
	m := &Manager{Root: t.TempDir()}
	w := newFakeWorld(t)
	w.install(m)
	if err := makeLabDir(m.labsDir(), m.labDir(plan.Name)); err != nil {
		t.Fatal(err)
	}
	if isolated != (plan.LabNetns != "") || isolated == (plan.Chain != "") {
		t.Fatalf("isolated %v: plan has lab netns %q, chain %q", isolated, plan.LabNetns, plan.Chain)
	}
	st := &State{Version: stateVersion, Phase: PhaseDeploying, Plan: plan, Nodes: map[string]*NodeState{}}
	// Another lab's objects, which no step of this one may touch.
	for _, k := range []string{"bridge other0", "node z", "netns other-z", "layer z"} {
		w.live[k] = obj{lab: "other", kind: strings.Fields(k)[0]}
	}
	return m, st, w
}

// foreign is the set of objects newSeamsLab gave the other lab.
var foreign = []string{"bridge other0", "layer z", "netns other-z", "node z"}

// opts runs one item at a time, so the fakes see one order; the step order
// is also tested with parallel workers.
var serial = DeployOptions{MaxWorkers: 1}

func TestEngineStepOrder(t *testing.T) {
	m, st, w := newSeamsLab(t)
	if err := m.runDeployment(context.Background(), st, DeployOptions{MaxWorkers: 8}); err != nil {
		t.Fatal(err)
	}
	// Each step's calls all come before the next step's first call.
	steps := [][]string{
		{"prepare "},
		{"open host", "add bridge ", "vxlan port ", "forward ", "forward6 ", "nat ", "nat6 "},
		{"layer ", "lay over ", "start ", "ipv6 ", "add port "},
		{"register netns "},
		{"add link "},
		{"setup ", "release ", "exec "},
	}
	step := func(call string) int {
		for i, prefixes := range steps {
			for _, p := range prefixes {
				if strings.HasPrefix(call, p) {
					return i
				}
			}
		}
		t.Fatalf("call %q is in no step", call)
		return -1
	}
	seen := make([]bool, len(steps))
	for i, c := range w.calls {
		s := step(c)
		seen[s] = true
		if i > 0 && s < step(w.calls[i-1]) {
			t.Errorf("call %q (step %d) after %q: %q", c, s, w.calls[i-1], w.calls)
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Errorf("no call of step %q", steps[i])
		}
	}
	got, err := readState(m.statePath("seamt"))
	if err != nil || got.Phase != PhaseRunning || len(got.Nodes) != 3 {
		t.Fatalf("state after deploy: %+v, %v", got, err)
	}
}

// TestStateRecordedBeforeHostSide: the first call into any seam finds the
// lab's state on disk, naming every node, so a deploy killed at any point
// leaves a state destroy can finish.
func TestStateRecordedBeforeHostSide(t *testing.T) {
	m, st, w := newSeamsLab(t)
	checked := false
	w.onFirst = func() {
		checked = true
		got, err := readState(m.statePath("seamt"))
		if err != nil { // Errorf: the hook may run on a worker goroutine
			t.Errorf("no state at the first call (%s): %v", w.calls[0], err)
			return
		}
		if got.Phase != PhaseDeploying || len(got.Plan.Nodes) != 3 || len(got.Plan.Bridges) != 2 {
			t.Errorf("state at the first call: phase %s, %d nodes, %d bridges", got.Phase, len(got.Plan.Nodes), len(got.Plan.Bridges))
		}
	}
	if err := m.runDeployment(context.Background(), st, serial); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("the engine made no call")
	}
}

// TestRollbackAfterFailureAtEachCall fails each call of a deploy in turn
// (every step: images, host side, layers, node starts, ports, netns, links,
// routes, release, exec) and checks the rollback: it removes everything
// that was created and nothing else, the later steps' objects before the
// earlier ones', and leaves no lab directory.
func TestRollbackAfterFailureAtEachCall(t *testing.T) {
	testRollbackAfterFailureAtEachCall(t, false)
}

// TestIsolatedRollbackAfterFailureAtEachCall: the same for an isolated
// lab, whose bridges are in a lab namespace removed as a whole.
func TestIsolatedRollbackAfterFailureAtEachCall(t *testing.T) {
	testRollbackAfterFailureAtEachCall(t, true)
}

func testRollbackAfterFailureAtEachCall(t *testing.T, isolated bool) {
	m, st, w := newSeamsLabIn(t, isolated)
	if err := m.runDeployment(context.Background(), st, serial); err != nil {
		t.Fatal(err)
	}
	total := w.count
	failedKinds := map[string]bool{}
	for n := 1; n <= total; n++ {
		m, st, w := newSeamsLabIn(t, isolated)
		w.failAt = n
		err := m.deployOrRollback(context.Background(), st, serial)
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("failure at call %d (%s): deploy returned %v", n, w.failed, err)
		}
		if strings.Contains(err.Error(), "rollback:") {
			t.Errorf("failure at %s: rollback failed: %v", w.failed, err)
		}
		failedKinds[strings.Fields(w.failed)[0]] = true
		checkRolledBack(t, m, w)
	}
	kinds := []string{"prepare", "open", "add", "vxlan", "layer", "lay", "start", "ipv6", "register", "setup", "release", "exec"}
	if !isolated {
		kinds = append(kinds, "forward", "forward6", "nat", "nat6")
	}
	for _, k := range kinds {
		if !failedKinds[k] {
			t.Errorf("no failure injected at a %q call", k)
		}
	}
}

// checkRolledBack checks that w holds only the other lab's objects, that
// each created object was removed once, before anything it needed, the
// later steps' first, and that the lab's directory is gone.
func checkRolledBack(t *testing.T, m *Manager, w *fakeWorld) {
	t.Helper()
	var left []string
	for k := range w.live {
		left = append(left, k)
	}
	slices.Sort(left)
	if !slices.Equal(left, foreign) {
		t.Errorf("failure at %s: left %q, want only the other lab's %q", w.failed, left, foreign)
	}
	created, removed := slices.Clone(w.created), slices.Clone(w.removed)
	slices.Sort(created)
	slices.Sort(removed)
	if !slices.Equal(created, removed) {
		t.Errorf("failure at %s: created %q, removed %q", w.failed, created, removed)
	}
	pos := map[string]int{}
	for i, k := range w.removed {
		pos[k] = i
	}
	for _, y := range w.created {
		for _, x := range w.deps[y] {
			if _, ok := pos[x]; ok && pos[y] > pos[x] {
				t.Errorf("failure at %s: %s removed after %s, which it needs\nremoved: %q", w.failed, y, x, w.removed)
			}
		}
	}
	for i, x := range w.created {
		for _, y := range w.created[i+1:] {
			// Ports and links go with their nodes' namespaces, not a step.
			if creationStep(x) < creationStep(y) && creationStep(y) < 4 && pos[y] > pos[x] {
				t.Errorf("failure at %s: %s (created after %s) removed after it\nremoved: %q", w.failed, y, x, w.removed)
			}
		}
	}
	if _, err := os.Stat(m.labDir("seamt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failure at %s: lab directory left: %v", w.failed, err)
	}
	if w.fwd != [2]string{"0", "0"} {
		t.Errorf("failure at %s: forwarding left at %q", w.failed, w.fwd)
	}
}

// creationStep orders the engine's steps by the kind of object each creates.
func creationStep(key string) int {
	switch strings.Fields(key)[0] {
	case "labns", "bridge", "forward", "forward6", "nat", "nat6":
		return 1 // create bridges
	case "layer", "cgroup", "node":
		return 2 // start nodes
	case "netns":
		return 3 // register netns
	}
	return 4 // ports and links (created with nodes and after them)
}

// TestDestroyCountsGoneAsSuccess removes parts of a running lab behind
// leolab's back (a node died, a bridge and a netns name deleted by hand):
// destroy succeeds and still removes the rest.
func TestDestroyCountsGoneAsSuccess(t *testing.T) {
	m, st, w := newSeamsLab(t)
	if err := m.runDeployment(context.Background(), st, serial); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	for pid, key := range w.pids {
		if key == "node b" {
			delete(w.pids, pid)
			w.drop(key)
		}
	}
	w.drop("bridge " + st.Plan.Bridges[0].Device)
	w.drop("netns " + hostnames.NodeNetns("seamt", "a"))
	w.mu.Unlock()
	if err := m.Destroy("seamt"); err != nil {
		t.Fatalf("destroy with parts already gone: %v", err)
	}
	var left []string
	for k := range w.live {
		left = append(left, k)
	}
	slices.Sort(left)
	if !slices.Equal(left, foreign) {
		t.Errorf("left %q, want only the other lab's %q", left, foreign)
	}
	if _, err := os.Stat(m.labDir("seamt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lab directory left: %v", err)
	}
	if w.fwd != [2]string{"0", "0"} {
		t.Errorf("forwarding left at %q", w.fwd)
	}
	if err := m.Destroy("seamt"); !errors.Is(err, ErrNoSuchLab) {
		t.Errorf("second destroy: %v, want ErrNoSuchLab", err)
	}
}

// TestDestroyReportsRealFailures: an error that is not "gone" fails the
// destroy and keeps the state, so it can be run again.
func TestDestroyKeepsStateOnRealFailure(t *testing.T) {
	m, st, w := newSeamsLab(t)
	if err := m.runDeployment(context.Background(), st, serial); err != nil {
		t.Fatal(err)
	}
	stuck := &stuckCgroups{fakeWorld: w, busy: true}
	m.nodes = stuck
	if err := m.Destroy("seamt"); err == nil || !strings.Contains(err.Error(), "cgroup busy") {
		t.Fatalf("destroy with a busy cgroup: %v", err)
	}
	if _, err := readState(m.statePath("seamt")); err != nil {
		t.Fatalf("state gone after a failed destroy: %v", err)
	}
	stuck.busy = false
	if err := m.Destroy("seamt"); err != nil {
		t.Fatalf("second destroy: %v", err)
	}
}

// stuckCgroups fails every cgroup removal while busy.
type stuckCgroups struct {
	*fakeWorld
	busy bool
}

func (s *stuckCgroups) RemoveCgroups(lab, name string) error {
	if s.busy {
		return errors.New("cgroup busy")
	}
	return s.fakeWorld.RemoveCgroups(lab, name)
}

// TestEngineRunsOnAPart adds one node and one link to a running lab with
// the engine's steps on that part alone: nothing else is created again, and
// the new link reaches the running node through its recorded pid.
func TestEngineRunsOnAPart(t *testing.T) {
	m, st, w := newSeamsLab(t)
	p := st.Plan
	// Deploy without c and its link, then add them.
	full := *p
	p.Nodes = slices.Clone(p.Nodes[:2])
	p.Links = slices.Clone(p.Links[:1])
	if err := m.runDeployment(context.Background(), st, serial); err != nil {
		t.Fatal(err)
	}
	before := len(w.calls)
	p.Nodes, p.Links = full.Nodes, full.Links
	d := m.newDeployment(st, serial)
	defer d.close()
	c := &p.Nodes[2]
	c.After = nil // a's exec lines ran in the first run
	if err := d.run(context.Background(), part{nodes: []*topology.Node{c}, links: p.Links[1:]}); err != nil {
		t.Fatal(err)
	}
	added := w.calls[before:]
	for _, call := range added {
		for _, other := range []string{" a", " b", "add bridge"} {
			if strings.HasSuffix(call, other) || strings.HasPrefix(call, other) {
				t.Errorf("adding c re-did %q", call)
			}
		}
	}
	for _, want := range []string{"start c", "register netns seamt-c", "add link b:eth2~c:eth1", "release c"} {
		if !slices.Contains(added, want) {
			t.Errorf("adding c: no %q in %q", want, added)
		}
	}
	if _, ok := st.Nodes["c"]; !ok {
		t.Error("c not in the state")
	}
}
