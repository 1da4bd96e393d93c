package topology

import (
	"net/netip"
	"testing"
)

// mustResolveOver resolves src as apply does, over the running lab's plan
// prev.
func mustResolveOver(t *testing.T, src string, prev *Plan, host HostView) *Plan {
	t.Helper()
	dec, err := Decode("testdata/t.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, err := Resolve(dec, Env{Host: host, Previous: prev})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return p
}

// addrOf is NODE:IFACE's IPv4 address in p, or "" when it has none.
func addrOf(p *Plan, node, iface string) string {
	for _, n := range p.Nodes {
		if n.Name != node {
			continue
		}
		for _, ifc := range n.Interfaces {
			if ifc.Name == iface && ifc.IPv4.IsValid() {
				return ifc.IPv4.String()
			}
		}
	}
	return ""
}

// wantAddr fails the test unless NODE:IFACE has address want in p; why
// says what want is.
func wantAddr(t *testing.T, p *Plan, node, iface, want, why string) {
	t.Helper()
	if got := addrOf(p, node, iface); got != want {
		t.Errorf("%s:%s = %s, want %s (%s)", node, iface, got, want, why)
	}
}

func subnetOf(p *Plan, bridge string) string {
	for _, b := range p.Bridges {
		if b.Name == bridge {
			return b.Subnet.String()
		}
	}
	return ""
}

const stickyBase = `
name: t
bridges:
  lan: {}
  core: {}
nodes:
  h1: {interfaces: {eth0: lan}}
  h2: {interfaces: {eth0: lan}}
  r1: {interfaces: {eth0: lan, eth1: core}}
links:
  - endpoints: [h1:eth1, h2:eth1]
`

// A node inserted before the others takes a free address; nobody moves.
func TestStickyInsertedNodeKeepsOthers(t *testing.T) {
	prev := mustParse(t, stickyBase, Options{})
	edited := `
name: t
bridges:
  lan: {}
  core: {}
nodes:
  h0: {interfaces: {eth0: lan, eth1: core}}
  h1: {interfaces: {eth0: lan}}
  h2: {interfaces: {eth0: lan}}
  r1: {interfaces: {eth0: lan, eth1: core}}
links:
  - endpoints: [h1:eth1, h2:eth1]
`
	fresh := mustParse(t, edited, Options{})
	if addrOf(fresh, "h1", "eth0") == addrOf(prev, "h1", "eth0") {
		t.Fatalf("test premise: without Previous the insert shifts h1 (both %s)", addrOf(fresh, "h1", "eth0"))
	}
	next := mustResolveOver(t, edited, prev, nil)
	for _, e := range [][2]string{{"h1", "eth0"}, {"h2", "eth0"}, {"r1", "eth0"}, {"r1", "eth1"}, {"h1", "eth1"}, {"h2", "eth1"}} {
		wantAddr(t, next, e[0], e[1], addrOf(prev, e[0], e[1]), "its previous")
	}
	wantAddr(t, next, "h0", "eth0", "172.20.1.5/24", "the first free")
	wantAddr(t, next, "h0", "eth1", "172.20.2.3/24", "the first free")
}

// A bridge inserted before the others gets a new subnet; theirs stay.
func TestStickyInsertedBridgeKeepsSubnets(t *testing.T) {
	prev := mustParse(t, stickyBase, Options{})
	edited := "name: t\nbridges:\n  mgmt: {}\n  lan: {}\n  core: {}\nnodes:\n  h1: {interfaces: {eth0: lan, eth9: mgmt}}\n  h2: {interfaces: {eth0: lan}}\n  r1: {interfaces: {eth0: lan, eth1: core}}\nlinks:\n  - endpoints: [h1:eth1, h2:eth1]\n"
	next := mustResolveOver(t, edited, prev, nil)
	for _, b := range []string{"lan", "core"} {
		if got, want := subnetOf(next, b), subnetOf(prev, b); got != want {
			t.Errorf("bridge %s = %s, want %s", b, got, want)
		}
	}
	if got, want := subnetOf(next, "mgmt"), "172.20.3.0/24"; got != want {
		t.Errorf("new bridge mgmt = %s, want %s", got, want)
	}
	wantAddr(t, next, "h1", "eth0", addrOf(prev, "h1", "eth0"), "kept")
}

// A link inserted first gets a new /30; the existing link keeps its subnet
// and end addresses, even written the other way round.
func TestStickyLinks(t *testing.T) {
	prev := mustParse(t, stickyBase, Options{})
	edited := "name: t\nbridges:\n  lan: {}\n  core: {}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\n  r1: {interfaces: {eth0: lan, eth1: core}}\nlinks:\n  - endpoints: [r1:eth5, h1:eth5]\n  - endpoints: [h2:eth1, h1:eth1]\n"
	next := mustResolveOver(t, edited, prev, nil)
	for _, e := range [][2]string{{"h1", "eth1"}, {"h2", "eth1"}} {
		wantAddr(t, next, e[0], e[1], addrOf(prev, e[0], e[1]), "kept")
	}
	wantAddr(t, next, "r1", "eth5", "172.20.240.5/30", "new link end")
}

// An address written in the file wins over a kept one; the interface that
// held it is moved to a free address, deterministically.
func TestStickyPinnedAddressWins(t *testing.T) {
	prev := mustParse(t, stickyBase, Options{})
	taken := addrOf(prev, "h1", "eth0") // 172.20.1.2
	edited := "name: t\nbridges:\n  lan: {}\n  core: {}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\n  r1: {interfaces: {eth0: {bridge: lan, ipv4: " + taken + "}, eth1: core}}\nlinks:\n  - endpoints: [h1:eth1, h2:eth1]\n"
	for range 2 { // the same inputs give the same answer
		next := mustResolveOver(t, edited, prev, nil)
		wantAddr(t, next, "r1", "eth0", taken, "pinned in the file")
		wantAddr(t, next, "h2", "eth0", addrOf(prev, "h2", "eth0"), "kept")
		wantAddr(t, next, "h1", "eth0", "172.20.1.4/24", "the first free, its own taken by a pin")
	}
}

// A kept address outside a bridge's new subnet is dropped; a kept subnet
// another lab (or a host route) now holds is not kept.
func TestStickyDropsWhatNoLongerFits(t *testing.T) {
	prev := mustParse(t, stickyBase, Options{})
	edited := "name: t\nbridges:\n  lan: {subnet: 10.9.0.0/24}\n  core: {}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\n  r1: {interfaces: {eth0: lan, eth1: core}}\n"
	host := fakeHost{used: prefixes(subnetOf(prev, "core"))}
	next := mustResolveOver(t, edited, prev, host)
	wantAddr(t, next, "h1", "eth0", "10.9.0.2/24", "inside the new subnet")
	if got := subnetOf(next, "core"); got == subnetOf(prev, "core") {
		t.Errorf("bridge core kept %s although the host uses it", got)
	}
}

// Without Previous nothing changes: resolving twice is deterministic and
// resolving against itself is the identity.
func TestStickyAgainstItselfIsIdentity(t *testing.T) {
	prev := mustParse(t, threeBridges, Options{})
	next := mustResolveOver(t, threeBridges, prev, nil)
	for _, n := range prev.Nodes {
		for _, ifc := range n.Interfaces {
			if got := addrOf(next, n.Name, ifc.Name); got != addrOf(prev, n.Name, ifc.Name) {
				t.Errorf("%s:%s = %s, want %s", n.Name, ifc.Name, got, ifc.IPv4)
			}
		}
	}
	if d := Compare(prev, next); !d.Empty() {
		t.Errorf("diff of a plan with itself: %v", d.Changes)
	}
	_ = netip.Prefix{}
}

func addr6Of(p *Plan, node, iface string) string {
	ifc := p.Node(node).Iface(iface)
	if ifc == nil || !ifc.IPv6.IsValid() {
		return ""
	}
	return ifc.IPv6.String()
}

// IPv6 addresses and subnets are sticky too (ipv6: true).
func TestStickyIPv6(t *testing.T) {
	base := "name: t\nipv6: true\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\nlinks:\n  - endpoints: [h1:eth1, h2:eth1]\n"
	prev := mustResolveOver(t, base, nil, nil)
	edited := "name: t\nipv6: true\nbridges: {wan: {}, lan: {}}\nnodes:\n  h0: {interfaces: {eth0: lan, eth1: wan}}\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\nlinks:\n  - endpoints: [h0:eth2, h1:eth2]\n  - endpoints: [h2:eth1, h1:eth1]\n"
	next := mustResolveOver(t, edited, prev, nil)
	for _, e := range [][2]string{{"h1", "eth0"}, {"h2", "eth0"}, {"h1", "eth1"}, {"h2", "eth1"}} {
		if got, want := addr6Of(next, e[0], e[1]), addr6Of(prev, e[0], e[1]); got != want || got == "" {
			t.Errorf("%s:%s ipv6 = %s, want its previous %s", e[0], e[1], got, want)
		}
	}
	if got := addr6Of(next, "h0", "eth0"); got == "" || got == addr6Of(prev, "h1", "eth0") || got == addr6Of(prev, "h2", "eth0") {
		t.Errorf("new h0:eth0 ipv6 = %q, want a free one", got)
	}
}
