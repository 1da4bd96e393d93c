package topology

import (
	"encoding/json"
	"errors"
	"leolab/internal/hostnames"
	"math/rand"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, src string, opts Options) *Decoded {
	t.Helper()
	d, err := Decode("testdata/t.yaml", []byte(src), opts)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return d
}

// Decode never looks at the host, whether the file is valid or not, and
// Parse of an invalid file stops before Resolve would.
func TestDecodeNeverTouchesTheHostView(t *testing.T) {
	calls := 0
	host := fakeHost{used: prefixes("172.20.0.0/16"), calls: &calls}
	for _, src := range []string{
		threeBridges,
		"name: t\nbridges: {a: {subnet: 10.0.0.0/33}}\n",
		"name: t\nnodes: {a: {interfaces: {eth0: nowhere}}}\n",
		"nodes: [broken\n",
	} {
		Decode("testdata/t.yaml", []byte(src), Options{Host: host})
	}
	if _, err := Parse("testdata/t.yaml", []byte("name: t\nbridges: {a: {subnet: bad}}\n"), Options{Host: host}); err == nil {
		t.Fatal("a bad subnet parsed")
	}
	if calls != 0 {
		t.Errorf("the host view was consulted %d times while decoding", calls)
	}
	host.used = prefixes("10.9.0.0/16")
	if _, err := Resolve(mustDecode(t, threeBridges, Options{}), Env{Host: host}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("Resolve never consulted the host view")
	}
}

// Every host-side decision is in the plan Resolve returns: the lab
// namespace and isolation, the NAT chain and forwarding, the id block.
func TestResolveRecordsEveryDecision(t *testing.T) {
	src := "name: lab1\nbridges: {wan: {nat: true, subnet6: \"fd00:5::/64\"}, lan: {}}\nnodes:\n  a: {user_namespace: true, interfaces: {e0: wan}}\n  b: {interfaces: {e0: lan}}\n  c: {user_namespace: true, interfaces: {e0: lan}}\n"
	used := []UIDBlock{{Start: uidFirst, Count: 1}, {Start: uidFirst + 3*idsPerNode, Count: 4}}
	host := fakeHost{uids: used}
	p, err := Resolve(mustDecode(t, src, Options{}), Env{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	// Two nodes fit in the gap between the two blocks in use.
	want := UIDBlock{Start: uidFirst + idsPerNode, Count: 2}
	if p.UIDs != want || p.UIDs.NodeBase(1) != uidFirst+2*idsPerNode {
		t.Errorf("uids %+v, want %+v", p.UIDs, want)
	}
	if p.Isolated || p.LabNetns != "" || p.Chain != hostnames.LabChain("lab1") || !p.NAT || !p.NAT6 {
		t.Errorf("host lab: isolated %v netns %q chain %q nat %v nat6 %v", p.Isolated, p.LabNetns, p.Chain, p.NAT, p.NAT6)
	}

	iso := strings.Replace(src, "nat: true, ", "", 1)
	p, err = Resolve(mustDecode(t, iso, Options{Isolated: true}), Env{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Isolated || p.LabNetns != hostnames.LabNetns("lab1") || p.Chain != "" || p.NAT || p.NAT6 || p.UIDs != want {
		t.Errorf("isolated lab: isolated %v netns %q chain %q nat %v nat6 %v uids %+v", p.Isolated, p.LabNetns, p.Chain, p.NAT, p.NAT6, p.UIDs)
	}

	p, err = Resolve(mustDecode(t, "name: t\nnodes: {a: {}}\n", Options{}), Env{Host: host})
	if err != nil || p.UIDs != (UIDBlock{}) {
		t.Errorf("no user-namespace node: uids %+v, err %v", p.UIDs, err)
	}
}

// Another lab's LAB-NODE namespace name is refused when resolving, naming
// the node and the lab (lab "a" node "b-c" against lab "a-b" node "c").
func TestResolveRefusesAnotherLabsNetnsName(t *testing.T) {
	d := mustDecode(t, "name: a\nnodes: {b-c: {}, d: {}}\n", Options{})
	host := fakeHost{netns: map[string]string{"a-b-c": "a-b", "x-d": "x"}}
	_, err := Resolve(d, Env{Host: host})
	var errs Errors
	if err == nil || errors.As(err, &errs) || err.Error() != "node b-c: network namespace name a-b-c is already used by lab a-b" {
		t.Fatalf("err = %v", err)
	}
	host.netns = map[string]string{"x-d": "x"}
	if _, err := Resolve(d, Env{Host: host}); err != nil {
		t.Errorf("no clash: %v", err)
	}
}

// A plan survives a JSON round trip unchanged, so the plan a state file
// recorded can be compared with a new one.
func TestPlanRoundTripsThroughJSON(t *testing.T) {
	files, _ := filepath.Glob("../labs/examples/*.yaml")
	files = append(files, "testdata/spec/routing.yaml", "testdata/clab/anchors.clab.yml", "testdata/clab/bridge.clab.yml", "testdata/clab/routers.clab.yml")
	if len(files) < 8 {
		t.Fatalf("only %d files", len(files))
	}
	host := fakeHost{uids: []UIDBlock{{Start: uidFirst, Count: 3}}}
	for _, f := range files {
		for _, isolated := range []bool{false, true} {
			data, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Decode(f, data, Options{Isolated: isolated})
			if err != nil {
				if isolated {
					continue // nat: true, or hosts:, refused with --isolated
				}
				t.Fatalf("%s: %v", f, err)
			}
			env := Env{Host: host}
			if len(d.Draft.Hosts) > 0 {
				env.LocalHost = d.Draft.Hosts[0].Name
			}
			p, err := Resolve(d, env)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			roundTrip(t, f, p)
		}
	}
	// user-namespace ids, a share with remote nodes
	d := mustDecode(t, "name: t\nhosts:\n  a: {address: 192.0.2.1}\n  b: {address: 192.0.2.2}\nbridges: {lan: {}}\nnodes:\n  x: {host: a, user_namespace: true, interfaces: {e0: lan}}\n  y: {host: b, interfaces: {e0: lan}}\n", Options{})
	p, err := Resolve(d, Env{Host: host, LocalHost: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Remote) != 1 || p.Remote[0].Name != "y" || p.UIDs.Count != 1 {
		t.Fatalf("share: remote %+v uids %+v", p.Remote, p.UIDs)
	}
	roundTrip(t, "share", p)
}

func roundTrip(t *testing.T, name string, p *Plan) {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want := *p
	want.Warnings = nil // not recorded
	if !reflect.DeepEqual(&back, &want) {
		again, _ := json.Marshal(&back)
		t.Errorf("%s: the plan changed through JSON:\n%s\n%s", name, data, again)
	}
}

// Resolve reuses the draft when the host's subnets do not touch it; that
// must give the plan resolving the file again with them taken would.
func TestResolveReusesTheDraftOnlyWhenTheHostCannotChangeIt(t *testing.T) {
	src := "name: t\nipv6: true\nbridges: {a: {}, b: {subnet: 172.20.2.0/24}, c: {}, d: {}}\nnodes:\n  n1: {interfaces: {eth0: a, eth1: c}}\n  n2: {interfaces: {eth0: a}}\n  n3: {}\nlinks:\n  - endpoints: [n1:l0, n2:l0]\n  - endpoints: [n2:l1, n3:l1]\n  - endpoints: [n1:l2, n3:l2]\n"
	d := mustDecode(t, src, Options{})
	candidates := prefixes("172.20.0.0/24", "172.20.1.0/24", "172.20.3.0/24", "172.20.5.0/24", "172.20.240.0/30",
		"172.20.240.8/30", "172.20.255.0/24", "10.0.0.0/8", "fde3:6868:8a47:1::/64", "fde3:6868:8a47:8000::/64",
		"fde3:6868:8a47:9::/64", "fe80::/64")
	rng := rand.New(rand.NewSource(1))
	reused := 0 // cases that take the shortcut: only they test it
	for i := 0; i < 200; i++ {
		var used []netip.Prefix
		for _, c := range candidates {
			if rng.Intn(3) == 0 {
				used = append(used, c)
			}
		}
		if !overlapsAny(d.Draft.Subnets(), used) {
			reused++
		}
		got, err := Resolve(d, Env{Host: fakeHost{used: used}})
		again := *d
		again.opts.Host = fakeHost{used: used}
		want, werr := again.resolveRaw(&decoder{file: d.file})
		if (err == nil) != (werr == nil) {
			t.Fatalf("host %v: Resolve err %v, resolving again %v", used, err, werr)
		}
		if err != nil {
			continue
		}
		want.decideHostSide()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("host %v: subnets %v, resolving again %v", used, got.Subnets(), want.Subnets())
		}
	}
	if reused == 0 {
		t.Fatal("no host view left the draft alone: the reuse of the draft was never compared")
	}
	if !reflect.DeepEqual(d.Draft, mustDecode(t, src, Options{}).Draft) {
		t.Error("Resolve changed the draft")
	}
}

// A lab across hosts never moves a subnet aside (the hosts would disagree):
// an overlap with the host is refused, naming both.
func TestShareSubnetsOverlapIsRefused(t *testing.T) {
	p := &Plan{Name: "mhs", Bridges: []Bridge{{Name: "lan", Subnet: netip.MustParsePrefix("10.201.0.0/24")}}}
	if err := checkShareSubnets(p, fakeHost{used: prefixes("10.200.0.0/16")}); err != nil {
		t.Errorf("no overlap: %v", err)
	}
	err := checkShareSubnets(p, fakeHost{used: prefixes("10.201.0.0/16")})
	if err == nil || !strings.Contains(err.Error(), "subnet 10.201.0.0/24 overlaps 10.201.0.0/16") {
		t.Errorf("overlap: %v", err)
	}
}

func TestAllocUIDsNeverOverlaps(t *testing.T) {
	var used []UIDBlock
	for i := 0; i < 5; i++ {
		start, err := allocUIDs(i+1, used)
		if err != nil {
			t.Fatal(err)
		}
		b := UIDBlock{Start: start, Count: i + 1}
		for _, o := range used {
			if uint64(b.Start) < o.End() && b.End() > uint64(o.Start) {
				t.Fatalf("block %+v overlaps %+v", b, o)
			}
		}
		used = append(used, b)
	}
	if _, err := allocUIDs(1<<15, used); err == nil {
		t.Error("huge request did not fail")
	}
}
