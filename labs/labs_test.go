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

	"golang.org/x/sys/unix"

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

func TestAllocUIDsNeverOverlaps(t *testing.T) {
	var others []*State
	for i := 0; i < 5; i++ {
		start, err := allocUIDs(i+1, uidSpans(others, nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range others {
			lo, hi := uint64(o.UIDStart), uint64(o.UIDStart)+uint64(o.UIDCount)*idsPerNode
			if uint64(start) < hi && uint64(start)+uint64(i+1)*idsPerNode > lo {
				t.Fatalf("range %d overlaps %d..%d", start, lo, hi)
			}
		}
		others = append(others, &State{UIDStart: start, UIDCount: i + 1})
	}
	if _, err := allocUIDs(1<<15, uidSpans(others, nil)); err == nil {
		t.Error("huge request did not fail")
	}
}

// TestAllocUIDsAvoidsOtherRootsClaims: an id block another root's lab
// claimed is never handed out again.
func TestAllocUIDsAvoidsOtherRootsClaims(t *testing.T) {
	claims := []*Claim{{Root: "/other", Lab: "x", UIDStart: uidFirst, UIDCount: 2}}
	start, err := allocUIDs(1, uidSpans(nil, claims))
	if err != nil {
		t.Fatal(err)
	}
	if start < uidFirst+2*idsPerNode {
		t.Errorf("block at %d overlaps the claimed %d..%d", start, uidFirst, uidFirst+2*idsPerNode)
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
	path := filepath.Join(t.TempDir(), "t.yaml")
	os.WriteFile(path, []byte("# lab\nname: routing   # comment\nnodes: [broken\n"), 0o644)
	if got := PeekName(path); got != "routing" {
		t.Errorf("PeekName = %q", got)
	}
}

func TestRemoveTreeRefusesMountPoints(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	keep := filepath.Join(dir, "state.json")
	os.WriteFile(keep, nil, 0o600)
	os.MkdirAll(filepath.Join(dir, "nodes", "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "nodes", "a", "f"), nil, 0o600)
	if err := removeTreeSameDev(dir, keep); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("kept file removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nodes")); !os.IsNotExist(err) {
		t.Errorf("nodes dir not removed: %v", err)
	}

	// A host directory mounted inside the tree must survive.
	mnt := filepath.Join(dir, "nodes", "b", "bind")
	os.MkdirAll(mnt, 0o755)
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	sentinel := filepath.Join(mnt, "precious")
	os.WriteFile(sentinel, []byte("x"), 0o600)
	if err := removeTreeSameDev(dir, keep); err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Errorf("remove across a mount point: err = %v", err)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Errorf("file under the mount point removed: %v", err)
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

func TestViewAndPlanDualStack(t *testing.T) {
	pfx := netip.MustParsePrefix
	p := &topology.Plan{Name: "d", Pool: pfx("172.20.0.0/16"), Pool6: pfx("fd00::/48"),
		Bridges: []topology.Bridge{{Name: "lan", Subnet: pfx("172.20.1.0/24"), Subnet6: pfx("fd00:1::/64"),
			Gateway6: netip.MustParseAddr("fd00:1::1")}, {Name: "v4", Subnet: pfx("172.20.2.0/24")}},
		Nodes: []topology.Node{{Name: "h1", Interfaces: []topology.Interface{
			{Name: "eth0", Bridge: "lan", IPv4: pfx("172.20.1.2/24"), IPv6: pfx("fd00:1::2/64")},
			{Name: "eth1", Bridge: "v4", IPv4: pfx("172.20.2.2/24")}}}},
		Links: []topology.Link{{Subnet6: pfx("fd00:8000::/64")}},
	}
	var b strings.Builder
	m := &Manager{}
	if err := PrintJSON(&b, []LabView{m.view(&State{Plan: p, Nodes: map[string]*NodeState{}})}, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"subnet6": "fd00:1::/64"`, `"gateway6": "fd00:1::1"`, `"ipv6": "fd00:1::2/64"`, `"subnet6": "fd00:8000::/64"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inspect JSON lacks %s:\n%s", want, b.String())
		}
	}
	if strings.Count(b.String(), `"ipv6"`) != 1 || strings.Count(b.String(), `"subnet6"`) != 2 {
		t.Errorf("IPv4-only interfaces and bridges have IPv6 fields:\n%s", b.String())
	}
	b.Reset()
	PrintPlan(&b, p)
	for _, want := range []string{"ipv6 pool fd00::/48", "SUBNET6", "fd00:1::2/64", "fd00:8000::/64"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %s:\n%s", want, b.String())
		}
	}
}
