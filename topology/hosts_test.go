package topology

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

const twoHosts = `name: mh
hosts:
  a: {address: 10.99.0.1}
  b: {address: 10.99.0.2, vxlan_port: 4790}
bridges:
  lan: {nat: true}
  only-b: {}
nodes:
  h1: {interfaces: {eth0: lan}}
  h2: {host: b, interfaces: {eth0: lan, eth2: only-b}}
  h3: {host: b}
links:
  - endpoints: [h1:eth1, h2:eth1]
  - endpoints: [h2:eth3, h3:eth3]
checks:
  - {name: from-h1, reach: {from: h1, to: h2}}
  - {name: from-h3, reach: {from: h3, to: h2}}
`

func TestHostsShareSplitsTheLab(t *testing.T) {
	p := mustParse(t, twoHosts, Options{})
	if got := p.Nodes[0].Host + p.Nodes[1].Host + p.Nodes[2].Host; got != "abb" {
		t.Fatalf("node hosts %q, want abb (the first host by default)", got)
	}
	lan := p.Bridges[0]
	if lan.VXLAN == nil || lan.MTU != CrossHostMTU || strings.Join(lan.Hosts, ",") != "a,b" {
		t.Fatalf("bridge lan: %+v, want a VXLAN segment on a,b with mtu %d", lan, CrossHostMTU)
	}
	if p.Bridges[1].VXLAN != nil || p.Bridges[1].MTU != 1500 {
		t.Fatalf("bridge only-b is on one host: %+v", p.Bridges[1])
	}
	if p.Links[0].VXLAN == nil || p.Links[0].MTU != CrossHostMTU || p.Links[1].VXLAN != nil {
		t.Fatalf("links: %+v", p.Links)
	}
	if p.Links[0].VXLAN.VNI == lan.VXLAN.VNI {
		t.Fatalf("bridge and link share VNI %d", lan.VXLAN.VNI)
	}
	if p.Nodes[0].Interfaces[0].MTU != CrossHostMTU || p.Nodes[0].Interfaces[1].MTU != CrossHostMTU || p.Nodes[1].Interfaces[1].MTU != 1500 {
		t.Fatalf("interfaces of cross-host segments keep mtu: %+v", p.Nodes[0].Interfaces)
	}

	a, remoteA, err := p.Share("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Nodes) != 1 || len(remoteA) != 2 || len(a.Bridges) != 1 || len(a.Links) != 1 {
		t.Fatalf("share a: nodes %d remote %d bridges %d links %d", len(a.Nodes), len(remoteA), len(a.Bridges), len(a.Links))
	}
	if len(a.Checks) != 1 || a.Checks[0].Name != "from-h1" {
		t.Fatalf("share a checks %+v, want only from-h1", a.Checks)
	}
	ga := a.Bridges[0]
	if !ga.Gateway.IsValid() || !ga.NAT {
		t.Fatalf("host a is lan's first host: it keeps the gateway and nat: %+v", ga)
	}
	want := Remote{Host: "b", Address: netip.MustParseAddr("10.99.0.2"), Port: 4790}
	if v := ga.VXLAN; v.Local != netip.MustParseAddr("10.99.0.1") || v.Port != 4789 || len(v.Remotes) != 1 || v.Remotes[0] != want {
		t.Fatalf("share a: lan vxlan %+v", v)
	}
	if v := a.Links[0].VXLAN; v == nil || len(v.Remotes) != 1 || v.Remotes[0] != want {
		t.Fatalf("share a: link vxlan %+v", v)
	}

	b, remoteB, err := p.Share("b")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Nodes) != 2 || len(remoteB) != 1 || remoteB[0].Name != "h1" || len(b.Bridges) != 2 || len(b.Links) != 2 {
		t.Fatalf("share b: nodes %d remote %v bridges %d links %d", len(b.Nodes), remoteB, len(b.Bridges), len(b.Links))
	}
	if gb := b.Bridges[0]; gb.Gateway.IsValid() || gb.NAT || gb.VXLAN.Remotes[0].Host != "a" {
		t.Fatalf("host b has no gateway or nat on lan: %+v", gb)
	}
	h2 := b.Nodes[0]
	if h2.Index != 0 || b.Nodes[1].Index != 1 {
		t.Fatalf("share b indexes nodes anew: %d %d", h2.Index, b.Nodes[1].Index)
	}
	for _, ifc := range h2.Interfaces {
		if ifc.Link >= 0 && b.Links[ifc.Link].Endpoints[0].Node != "h2" && b.Links[ifc.Link].Endpoints[1].Node != "h2" {
			t.Fatalf("interface %s points at link %d, not one of h2's", ifc.Name, ifc.Link)
		}
	}
	if gw := h2.Routes; len(gw) == 0 || gw[0].Via != ga.Gateway {
		t.Fatalf("h2 routes %v: its default route goes to lan's gateway on host a (%s)", gw, ga.Gateway)
	}
	if _, _, err := p.Share("c"); err == nil {
		t.Fatal("Share of an unknown host succeeded")
	}
}

// Every host parses the same file on its own: what it computes must be
// byte for byte what the others compute, whatever else runs on it.
func TestHostsPlanIsDeterministic(t *testing.T) {
	first, err := json.Marshal(mustParse(t, twoHosts, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, _ := json.Marshal(mustParse(t, twoHosts, Options{}))
		if string(again) != string(first) {
			t.Fatalf("two parses of one file differ:\n%s\n%s", first, again)
		}
	}
}

func TestHostsMTUWarning(t *testing.T) {
	src := strings.Replace(twoHosts, "lan: {nat: true}", "lan: {nat: true, mtu: 9000}", 1)
	src = strings.Replace(src, "[h1:eth1, h2:eth1]", "[h1:eth1, h2:eth1]\n    mtu: 1400", 1)
	p := mustParse(t, src, Options{})
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "bridge lan spans hosts: mtu 9000") || !strings.Contains(p.Warnings[0], "t.yaml:6:25:") {
		t.Fatalf("warnings %q", p.Warnings)
	}
	if p.Bridges[0].MTU != 9000 || p.Links[0].MTU != 1400 {
		t.Fatalf("mtu: bridge %d link %d, want the file's 9000 and 1400", p.Bridges[0].MTU, p.Links[0].MTU)
	}
	if q := mustParse(t, twoHosts, Options{}); len(q.Warnings) != 0 {
		t.Fatalf("warnings without mtu: %q", q.Warnings)
	}
}

func TestHostsErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"name: x\nnodes:\n  a: {host: b}\n", `host "b" needs hosts:`},
		{"name: x\nhosts: {a: {address: 10.0.0.1}}\nnodes:\n  n: {host: b}\n", `unknown host "b"`},
		{"name: x\nhosts: {a: {}}\n", "host a needs an address"},
		{"name: x\nhosts: {a: {address: 224.0.0.1}}\n", "not a unicast IPv4"},
		{"name: x\nhosts: {a: {address: 10.0.0.1}, b: {address: 10.0.0.1}}\n", "already host a's"},
		{"name: x\nhosts: {a: {address: 10.0.0.1, vxlan_port: 0}}\n", "vxlan_port 0"},
		{"name: x\nhosts: {A: {address: 10.0.0.1}}\n", "host name"},
	} {
		got := strings.Join(errorsOf(t, c.src, Options{}), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%q: errors %q, want %q", c.src, got, c.want)
		}
	}
}

func TestNoHostsNothingChanges(t *testing.T) {
	p := mustParse(t, "name: x\nbridges: {lan: {}}\nnodes:\n  a: {interfaces: {eth0: lan}}\n  b: {interfaces: {eth0: lan}}\nlinks: [{endpoints: [a:eth1, b:eth1]}]\n", Options{})
	if p.Nodes[0].Host != "" || p.Bridges[0].VXLAN != nil || p.Links[0].VXLAN != nil || p.Bridges[0].MTU != 1500 {
		t.Fatalf("a lab without hosts: changed: %+v", p)
	}
}

// VNIs are unique in a lab: a seed whose hash is taken gets the next one,
// the same way on every host.
func TestVNICollisionIsResolvedDeterministically(t *testing.T) {
	n := newNamer("lab")
	first := n.vni("bridge/lan")
	m := newNamer("lab")
	m.vnis = map[uint32]bool{first: true} // as if another segment had it
	second := m.vni("bridge/lan")
	if second == first || second == 0 || second >= 1<<24 {
		t.Fatalf("collision gave %d (first %d)", second, first)
	}
	o := newNamer("lab")
	o.vnis = map[uint32]bool{first: true}
	if again := o.vni("bridge/lan"); again != second {
		t.Fatalf("collision resolved to %d, then %d", second, again)
	}
}
