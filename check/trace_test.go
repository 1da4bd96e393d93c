package check

import (
	"net/netip"
	"strings"
	"testing"

	"leolab/topology"
)

// The lab of the trace tests:
//
//	h1 --a(10.1.0.0/24)-- r1 ==10.9.0.0/30== r2 --b(10.2.0.0/24)-- h2
const traceLab = `name: t
bridges: {a: {subnet: 10.1.0.0/24, gateway: false}, b: {subnet: 10.2.0.0/24, gateway: false}}
nodes:
  h1: {interfaces: {eth0: {bridge: a, ipv4: 10.1.0.10}}, gateway: r1}
  r1: {interfaces: {eth0: {bridge: a, ipv4: 10.1.0.1}}, routes: [{to: 10.2.0.0/24, via: r2}]}
  r2: {interfaces: {eth0: {bridge: b, ipv4: 10.2.0.1}}, routes: [{to: 10.1.0.0/24, via: r1}]}
  h2: {interfaces: {eth0: {bridge: b, ipv4: 10.2.0.20}}, gateway: r2}
links:
  - {endpoints: [r1:eth1, r2:eth1], subnet: 10.9.0.0/30}
`

type fakeRoute struct {
	to  netip.Prefix
	via netip.Addr
}

// fakeNode is a node's kernel as a table: interfaces with addresses and
// state, routes (connected ones follow from the addresses of interfaces
// that are up, as in Linux).
type fakeNode struct {
	w      *fakeWorld
	ifaces map[string]*ifaceInfo
	routes []fakeRoute
	fwd    bool
	ttl    int
}

type fakeWorld struct {
	nodes  map[string]*fakeNode
	silent map[netip.Addr]bool // addresses whose owner never answers ARP
}

func (w *fakeWorld) view(node string) (nodeView, error) { return w.nodes[node], nil }

func (f *fakeNode) Lookup(dst netip.Addr) (lookup, error) {
	best, bits := lookup{}, -1
	for name, info := range f.ifaces {
		for _, p := range info.Addrs {
			if info.Up && p.Masked().Contains(dst) && p.Bits() > bits {
				best, bits = lookup{Found: true, Iface: name, Src: p.Addr(), Line: p.Masked().String() + " dev " + name}, p.Bits()
			}
		}
	}
	for _, r := range f.routes {
		if !r.to.Contains(dst) || r.to.Bits() <= bits {
			continue
		}
		via, err := f.Lookup(r.via) // the gateway's connected subnet
		if err != nil || !via.Found || via.Gw.IsValid() {
			continue
		}
		best, bits = lookup{Found: true, Iface: via.Iface, Gw: r.via, Src: via.Src, Line: r.to.String() + " via " + r.via.String()}, r.to.Bits()
	}
	return best, nil
}

func (f *fakeNode) Iface(name string) (ifaceInfo, bool) {
	info, ok := f.ifaces[name]
	if !ok {
		return ifaceInfo{}, false
	}
	return *info, true
}

func (f *fakeNode) Local(a netip.Addr) bool {
	for _, info := range f.ifaces {
		if hasAddr(info.Addrs, a) {
			return true
		}
	}
	return false
}

func (f *fakeNode) Neighbour(_ string, a netip.Addr) (bool, string, error) {
	if f.w.silent[a] {
		return false, "FAILED", nil
	}
	return true, "REACHABLE", nil
}

func (f *fakeNode) Forwarding() (bool, error) { return f.fwd, nil }
func (f *fakeNode) DefaultTTL() (int, error)  { return f.ttl, nil }

// newFake builds the lab's plan and a kernel state that matches it.
func newFake(t *testing.T) (*topology.Plan, *fakeWorld) {
	t.Helper()
	plan, err := topology.Parse("t.yaml", []byte(traceLab), topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWorld{nodes: map[string]*fakeNode{}, silent: map[netip.Addr]bool{}}
	for _, n := range plan.Nodes {
		f := &fakeNode{w: w, ifaces: map[string]*ifaceInfo{}, fwd: strings.HasPrefix(n.Name, "r"), ttl: 64}
		for _, ifc := range n.Interfaces {
			f.ifaces[ifc.Name] = &ifaceInfo{Up: true, Carrier: true, Addrs: []netip.Prefix{ifc.IPv4}}
		}
		for _, r := range n.Routes {
			f.routes = append(f.routes, fakeRoute{r.To, r.Via})
		}
		w.nodes[n.Name] = f
	}
	return plan, w
}

func TestTraceVerdicts(t *testing.T) {
	h2 := netip.MustParseAddr("10.2.0.20")
	cases := []struct {
		name         string
		dst          netip.Addr
		fault        func(w *fakeWorld)
		node, reason string
		detail       string // a part of the detail
	}{
		{"working", h2, func(*fakeWorld) {}, "", "", ""},
		{"missing route on a middle router", h2, func(w *fakeWorld) { w.nodes["r1"].routes = nil }, "r1", ReasonNoRoute, "r1 has no route to 10.2.0.20"},
		{"wrong mask", h2, func(w *fakeWorld) {
			w.nodes["h1"].ifaces["eth0"].Addrs = []netip.Prefix{netip.MustParsePrefix("10.1.0.10/8")}
		}, "h1", ReasonNotOnLink, "no node on bridge a has 10.2.0.20 (h2:eth0 has it"},
		{"link down", h2, func(w *fakeWorld) {
			w.nodes["r1"].ifaces["eth1"].Up = false
			w.nodes["r2"].ifaces["eth1"].Up = false
		}, "r1", ReasonLinkDown, "r1:eth1 is down, and the route to 10.2.0.20 went with it"},
		{"no carrier", h2, func(w *fakeWorld) { w.nodes["r1"].ifaces["eth1"].Carrier = false }, "r1", ReasonLinkDown, "r1:eth1 has no carrier"},
		{"netem loss 100%", h2, func(w *fakeWorld) { w.nodes["r2"].ifaces["eth0"].Loss100 = true }, "r2", ReasonLinkDown, "netem loss 100%"},
		{"host without gateway", h2, func(w *fakeWorld) { w.nodes["h1"].routes = nil }, "h1", ReasonNoRoute, ""},
		{"reverse path missing", h2, func(w *fakeWorld) { w.nodes["r2"].routes = nil }, "r2", ReasonReverse, "the reply from h2 to 10.1.0.10 stops at r2: no route"},
		{"loop", netip.MustParseAddr("10.3.0.5"), func(w *fakeWorld) {
			w.nodes["r1"].routes = append(w.nodes["r1"].routes, fakeRoute{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.9.0.2")})
			w.nodes["r2"].routes = append(w.nodes["r2"].routes, fakeRoute{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.9.0.1")})
		}, "r1", ReasonLoop, "h1 → r1 → r2 → r1"},
		{"TTL", h2, func(w *fakeWorld) { w.nodes["h1"].ttl = 2 }, "r2", ReasonTTL, "h1 starts it at 2"},
		{"forwarding disabled", h2, func(w *fakeWorld) { w.nodes["r2"].fwd = false }, "r2", ReasonNoForwarding, "ip_forward is 0"},
		{"neighbour unreachable", h2, func(w *fakeWorld) { w.silent[netip.MustParseAddr("10.1.0.1")] = true }, "h1", ReasonNeighbour, "10.1.0.1 (r1:eth0)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, w := newFake(t)
			c.fault(w)
			tr := (&tracer{plan: plan, w: w}).trace("h1", c.dst)
			tr.confirm("h1", PingResult{OK: c.reason == ""})
			if c.reason == "" {
				if !tr.OK || tr.Verdict != nil || tr.Reverse == nil || len(tr.Forward.Hops) != 4 {
					t.Fatalf("trace = %+v", tr)
				}
				return
			}
			v := tr.Verdict
			if tr.OK || v == nil || v.Node != c.node || v.Reason != c.reason || !strings.Contains(v.Detail, c.detail) {
				t.Fatalf("verdict = %+v, want %s at %s with %q", v, c.reason, c.node, c.detail)
			}
		})
	}
}

func TestTracePingDisagrees(t *testing.T) {
	plan, w := newFake(t)
	tr := (&tracer{plan: plan, w: w}).trace("h1", netip.MustParseAddr("10.2.0.20"))
	tr.confirm("h1", PingResult{Detail: "no reply"})
	if tr.OK || tr.Verdict == nil || tr.Verdict.Reason != ReasonPing || tr.Verdict.Node != "h1" {
		t.Fatalf("ok trace, lost ping: %+v", tr.Verdict)
	}
	w.nodes["r1"].routes = nil
	tr = (&tracer{plan: plan, w: w}).trace("h1", netip.MustParseAddr("10.2.0.20"))
	tr.confirm("h1", PingResult{OK: true})
	if tr.OK || tr.Verdict == nil || tr.Verdict.Reason != ReasonPing || tr.Verdict.Node != "r1" {
		t.Fatalf("failed trace, answered ping: %+v", tr.Verdict)
	}
}
