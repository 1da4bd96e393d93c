package labs

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"leolab/internal/hostnames"
	"leolab/topology"
)

func TestForEachStopsAfterFirstError(t *testing.T) {
	var ran atomic.Int32
	boom := errors.New("boom")
	err := forEach(context.Background(), 1, 100, func(i int) error {
		ran.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n := ran.Load(); n > 5 {
		t.Errorf("%d items ran after the failure at item 3", n)
	}
}

func TestForEachReportsCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := forEach(ctx, 4, 10, func(int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStateRoundTripAndGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st := &State{Version: 1, Phase: PhaseRunning, Plan: &topology.Plan{Name: "x"}, Nodes: map[string]*NodeState{"a": {Pid: 7, StartTime: 9}}}
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := readState(path)
	if err != nil || got.Nodes["a"].Pid != 7 || got.Plan.Name != "x" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left next to the state: %v", entries)
	}
	for _, junk := range []string{"", "{", `{"plan":null}`, "\x00\x01"} {
		os.WriteFile(path, []byte(junk), 0o600)
		if _, err := readState(path); !errors.Is(err, errBadState) {
			t.Errorf("state %q: err %v, want errBadState", junk, err)
		}
	}
}

func TestLabLockFailsFastAndIsReleased(t *testing.T) {
	m := &Manager{Root: t.TempDir()}
	l1, err := m.lockLab("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.lockLab("a"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	l1.unlock(true)
	l2, err := m.lockLab("a")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.unlock(true)
}

// TestLabLockWithinWaitsForARelease: destroy's lock waits for a holder
// that lets go soon, and still reports ErrLocked when it does not.
func TestLabLockWithinWaitsForARelease(t *testing.T) {
	m := &Manager{Root: t.TempDir()}
	held, err := m.lockLab("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.lockLabWithin("a", 100*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock while held: %v, want ErrLocked", err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		held.unlock(false)
	}()
	l, err := m.lockLabWithin("a", 5*time.Second)
	if err != nil {
		t.Fatalf("lock after the holder let go: %v", err)
	}
	l.unlock(true)
}

// TestUIDBlockAvoidsOtherLabsAndRootsClaims: resolving against the real
// host view never hands out an id block another lab of this root, or
// another root's lab (its claim), holds.
func TestUIDBlockAvoidsOtherLabsAndRootsClaims(t *testing.T) {
	dec, err := topology.Decode("t.yaml", []byte("name: uidt\nnodes:\n  a: {user_namespace: true}\n  b: {user_namespace: true}\n"), topology.Options{Isolated: true})
	if err != nil {
		t.Fatal(err)
	}
	const first = 1 << 20
	mine := &State{Plan: &topology.Plan{Name: "other", UIDs: topology.UIDBlock{Start: first, Count: 1}}}
	claims := []*Claim{{Root: "/other", Lab: "x", UIDStart: first + 1<<16, UIDCount: 2}}
	plan, err := topology.Resolve(dec, topology.Env{Host: hostView{others: []*State{mine}, claims: claims}})
	if err != nil {
		t.Fatal(err)
	}
	got := plan.UIDs
	if got.Count != 2 {
		t.Fatalf("block %+v, want 2 nodes", got)
	}
	for _, u := range []topology.UIDBlock{mine.Plan.UIDs, {Start: claims[0].UIDStart, Count: claims[0].UIDCount}} {
		if uint64(got.Start) < u.End() && got.End() > uint64(u.Start) {
			t.Errorf("block %+v overlaps %+v", got, u)
		}
	}
}

func TestHostsFileListsEveryNodeAndInterface(t *testing.T) {
	p := &topology.Plan{Nodes: []topology.Node{
		{Name: "h1", Interfaces: []topology.Interface{{Name: "eth0", IPv4: netip.MustParsePrefix("172.20.1.2/24")}, {Name: "eth1", IPv4: netip.MustParsePrefix("172.20.240.1/30")}}},
		{Name: "h2", Interfaces: []topology.Interface{{Name: "eth0"}}},
	}}
	got := hostsFile(p, nil)
	for _, want := range []string{"172.20.1.2\th1\n", "172.20.1.2\th1-eth0\n", "172.20.240.1\th1-eth1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "h2") {
		t.Errorf("node without address listed:\n%s", got)
	}
}

func TestPeekNameReadsEditedFiles(t *testing.T) {
	if got := PeekName([]byte("# lab\nname: routing   # comment\nnodes: [broken\n")); got != "routing" {
		t.Errorf("PeekName = %q", got)
	}
}

// TestAfterOrderPutsDependenciesFirst: every node comes after the nodes it
// runs After, and file order is kept otherwise.
func TestAfterOrderPutsDependenciesFirst(t *testing.T) {
	nodes := []*topology.Node{{Name: "a", After: []string{"c"}}, {Name: "b"}, {Name: "c", After: []string{"d"}}, {Name: "d"}}
	order := afterOrder(nodes)
	var names []string
	for _, i := range order {
		names = append(names, nodes[i].Name)
	}
	if got := strings.Join(names, " "); got != "d c a b" {
		t.Errorf("order %q, want d c a b", got)
	}
}

func TestHostsFileDualStack(t *testing.T) {
	p := &topology.Plan{Nodes: []topology.Node{
		{Name: "h1", Interfaces: []topology.Interface{
			{Name: "eth0", IPv4: netip.MustParsePrefix("172.20.1.2/24")},
			{Name: "eth1", IPv4: netip.MustParsePrefix("172.20.2.2/24"), IPv6: netip.MustParsePrefix("fd00:2::2/64")}}},
		{Name: "h2", Interfaces: []topology.Interface{{Name: "eth0", IPv6: netip.MustParsePrefix("fd00:1::3/64")}}},
	}}
	got := hostsFile(p, nil)
	want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"172.20.1.2\th1\nfd00:2::2\th1\n172.20.1.2\th1-eth0\n172.20.2.2\th1-eth1\nfd00:2::2\th1-eth1\n" +
		"fd00:1::3\th2\nfd00:1::3\th2-eth0\n"
	if got != want {
		t.Errorf("hosts file:\n%s\nwant:\n%s", got, want)
	}
}

// TestViewDualStack: the inspect view carries IPv6 subnets, gateways and
// addresses where the plan has them, and leaves them empty (absent from the
// JSON) on IPv4-only bridges and interfaces.
func TestViewDualStack(t *testing.T) {
	pfx := netip.MustParsePrefix
	p := &topology.Plan{Name: "d", Pool: pfx("172.20.0.0/16"), Pool6: pfx("fd00::/48"),
		Bridges: []topology.Bridge{{Name: "lan", Subnet: pfx("172.20.1.0/24"), Subnet6: pfx("fd00:1::/64"),
			Gateway6: netip.MustParseAddr("fd00:1::1")}, {Name: "v4", Subnet: pfx("172.20.2.0/24")}},
		Nodes: []topology.Node{{Name: "h1", Interfaces: []topology.Interface{
			{Name: "eth0", Bridge: "lan", IPv4: pfx("172.20.1.2/24"), IPv6: pfx("fd00:1::2/64")},
			{Name: "eth1", Bridge: "v4", IPv4: pfx("172.20.2.2/24")}}}},
		Links: []topology.Link{{Subnet6: pfx("fd00:8000::/64")}},
	}
	m := &Manager{}
	v := m.labView(&State{Plan: p, Nodes: map[string]*NodeState{}})
	lan, v4 := v.Bridges[0], v.Bridges[1]
	if lan.Subnet6 != "fd00:1::/64" || lan.Gateway6 != "fd00:1::1" || v4.Subnet6 != "" || v4.Gateway6 != "" {
		t.Errorf("bridges: %+v", v.Bridges)
	}
	ifs := v.Nodes[0].Interfaces
	if ifs[0].IPv6 != "fd00:1::2/64" || ifs[0].IPv4 != "172.20.1.2/24" || ifs[1].IPv6 != "" {
		t.Errorf("interfaces: %+v", ifs)
	}
	if l := v.Links[0]; l.Subnet6 != "fd00:8000::/64" || l.Subnet != "" {
		t.Errorf("link: %+v", l)
	}
	if n := v.Nodes[0]; n.State != "missing" || n.Pid != 0 || n.Netns != hostnames.NodeNetns("d", "h1") {
		t.Errorf("node without a pid: %+v", n)
	}
}
