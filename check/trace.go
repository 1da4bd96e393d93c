package check

import (
	"fmt"
	"net/netip"
	"strings"

	"leolab/topology"
)

// Reasons a trace stops, as the verdict names them.
const (
	ReasonNoRoute      = "no route"
	ReasonLinkDown     = "link down"
	ReasonNotOnLink    = "next hop not on the link"
	ReasonNeighbour    = "neighbour unreachable"
	ReasonLoop         = "loop"
	ReasonTTL          = "TTL"
	ReasonNoForwarding = "forwarding disabled"
	ReasonReverse      = "reverse path missing"
	ReasonPing         = "ping disagrees"
	ReasonError        = "error"
)

// Hop is one node a traced packet leaves: out of Iface towards Via (the
// next hop: a gateway, or the destination itself on a connected subnet),
// by Route. The last hop of a path that arrives has only Node.
type Hop struct {
	Node  string `json:"node"`
	Iface string `json:"iface,omitempty"`
	Via   string `json:"via,omitempty"`
	Route string `json:"route,omitempty"`
}

// Failure is where and why a trace stops.
type Failure struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// Path is one direction of a trace, from a node to an address.
type Path struct {
	From    string   `json:"from"`
	Src     string   `json:"src,omitempty"` // the source address the node picks
	Dst     string   `json:"dst"`
	Hops    []Hop    `json:"hops"`
	Failure *Failure `json:"failure,omitempty"`
	// Exit is set when the packet leaves the lab through a bridge's host
	// side (its gateway address): the trace cannot follow it further.
	Exit string `json:"exit,omitempty"`
}

// OK reports whether the path arrived (or left the lab through the host).
func (p *Path) OK() bool { return p.Failure == nil }

// Trace is the whole answer of `leolab trace`.
type Trace struct {
	OK      bool  `json:"ok"`
	Forward Path  `json:"forward"`
	Reverse *Path `json:"reverse,omitempty"` // nil when TO is not a lab node's address
	Ping    bool  `json:"ping"`
	// PingDetail says why the ping failed.
	PingDetail string   `json:"ping_detail,omitempty"`
	Verdict    *Failure `json:"verdict,omitempty"` // nil when all is well
}

// nodeView is what a trace reads of one node's kernel; kernelView reads it
// over netlink, tests give a table.
type nodeView interface {
	// Lookup is the node's route lookup for dst (RouteGet).
	Lookup(dst netip.Addr) (lookup, error)
	// Iface describes one of the node's interfaces; false when it has none
	// of that name.
	Iface(name string) (ifaceInfo, bool)
	// Local reports whether a is one of the node's own addresses.
	Local(a netip.Addr) bool
	// Neighbour resolves a on iface, probing it when there is no usable
	// entry; it reports whether the neighbour answered, and the entry's state.
	Neighbour(iface string, a netip.Addr) (bool, string, error)
	Forwarding() (bool, error)
	DefaultTTL() (int, error)
}

// lookup is a route lookup's answer.
type lookup struct {
	Found bool   // false: the kernel has no route (network unreachable)
	Kind  string // "" unicast, else local, blackhole, unreachable, prohibit, …
	Iface string
	Gw    netip.Addr // invalid on a connected subnet
	Src   netip.Addr
	Line  string // the table's route that matched, ip-route style
}

type ifaceInfo struct {
	Up, Carrier bool
	Loss100     bool // netem drops everything
	Addrs       []netip.Prefix
}

// world opens the views of a lab's nodes.
type world interface {
	view(node string) (nodeView, error)
}

// tracer follows packets through a lab's wiring (from its plan) and its
// nodes' kernel state (from views).
type tracer struct {
	plan *topology.Plan
	w    world
}

// maxHops bounds a walk even when TTL reading fails.
const maxHops = 255

// walk follows a packet from node from to dst.
func (t *tracer) walk(from string, dst netip.Addr) Path {
	p := Path{From: from, Dst: dst.String(), Hops: []Hop{}}
	seen := map[string]bool{}
	ttl, startTTL := 0, 0
	node := from
	for {
		v, err := t.w.view(node)
		if err != nil {
			return p.fail(node, ReasonError, err.Error())
		}
		if seen[node] {
			p.Hops = append(p.Hops, Hop{Node: node})
			return p.fail(node, ReasonLoop, fmt.Sprintf("%s is reached a second time: %s", node, p.nodes()))
		}
		seen[node] = true
		if v.Local(dst) {
			p.Hops = append(p.Hops, Hop{Node: node})
			return p
		}
		if node == from {
			if ttl, err = v.DefaultTTL(); err != nil {
				return p.fail(node, ReasonError, err.Error())
			}
			startTTL = ttl
		} else {
			if f := forwards(v, node, dst); f != nil {
				p.Hops = append(p.Hops, Hop{Node: node})
				return p.failWith(f)
			}
			if ttl--; ttl <= 0 || len(p.Hops) >= maxHops {
				p.Hops = append(p.Hops, Hop{Node: node})
				return p.fail(node, ReasonTTL, fmt.Sprintf("the packet's time to live runs out at %s (%s starts it at %d)", node, from, startTTL))
			}
		}
		hop, next, f := t.step(v, node, dst)
		if node == from && p.Src == "" && hop.src.IsValid() {
			p.Src = hop.src.String()
		}
		p.Hops = append(p.Hops, hop.Hop)
		if f != nil {
			return p.failWith(f)
		}
		if next == "" { // left the lab through the host
			p.Exit = "host"
			return p
		}
		node = next
	}
}

func forwards(v nodeView, node string, dst netip.Addr) *Failure {
	on, err := v.Forwarding()
	if err != nil {
		return &Failure{Node: node, Reason: ReasonError, Detail: err.Error()}
	}
	if !on {
		return &Failure{Node: node, Reason: ReasonNoForwarding,
			Detail: fmt.Sprintf("%s is not a router: net.ipv4.ip_forward is 0, so it drops the packet to %s", node, dst)}
	}
	return nil
}

func (p *Path) fail(node, reason, detail string) Path {
	return p.failWith(&Failure{Node: node, Reason: reason, Detail: detail})
}

func (p *Path) failWith(f *Failure) Path {
	p.Failure = f
	return *p
}

func (p *Path) nodes() string {
	names := make([]string, len(p.Hops))
	for i, h := range p.Hops {
		names[i] = h.Node
	}
	return strings.Join(names, " → ")
}

type stepHop struct {
	Hop
	src netip.Addr
}

// step takes one node's forwarding decision for dst: the route, the
// outgoing link, the next hop's owner on that link and its neighbour entry.
// next is the node the packet goes to, "" when it leaves the lab.
func (t *tracer) step(v nodeView, node string, dst netip.Addr) (stepHop, string, *Failure) {
	h := stepHop{Hop: Hop{Node: node}}
	l, err := v.Lookup(dst)
	if err != nil {
		return h, "", &Failure{Node: node, Reason: ReasonError, Detail: err.Error()}
	}
	if !l.Found || l.Kind != "" {
		return h, "", t.noRoute(v, node, dst, l)
	}
	h.Iface, h.Route, h.src = l.Iface, l.Line, l.Src
	nh := dst
	if l.Gw.IsValid() {
		nh = l.Gw
	}
	h.Via = nh.String()
	info, _ := v.Iface(l.Iface)
	if f := linkState(node, l.Iface, info); f != nil {
		return h, "", f
	}
	seg, ok := t.segment(node, l.Iface)
	if !ok {
		return h, "", &Failure{Node: node, Reason: ReasonNotOnLink,
			Detail: fmt.Sprintf("%s sends to %s out of %s, which is not one of the lab's links", node, nh, l.Iface)}
	}
	owner, ownerIf, f := t.owner(seg, node, nh)
	if f != nil {
		return h, "", f
	}
	if owner == "" {
		if gw := t.bridgeGateway(seg); gw == nh {
			return h, "", nil // the host side of a bridge: out of the lab
		}
		return h, "", t.notOnLink(node, l.Iface, seg, nh, dst)
	}
	answered, state, err := v.Neighbour(l.Iface, nh)
	if err != nil {
		return h, "", &Failure{Node: node, Reason: ReasonError, Detail: err.Error()}
	}
	if !answered {
		return h, "", &Failure{Node: node, Reason: ReasonNeighbour,
			Detail: fmt.Sprintf("%s gets no ARP reply for %s (%s:%s) on %s: neighbour entry %s", node, nh, owner, ownerIf, l.Iface, state)}
	}
	return h, owner, nil
}

func linkState(node, iface string, info ifaceInfo) *Failure {
	var why string
	switch {
	case !info.Up:
		why = "is down"
	case !info.Carrier:
		why = "has no carrier (the other end is down)"
	case info.Loss100:
		why = "drops every packet (netem loss 100%)"
	default:
		return nil
	}
	return &Failure{Node: node, Reason: ReasonLinkDown, Detail: fmt.Sprintf("%s:%s %s", node, iface, why)}
}

// noRoute explains a failed lookup: an interface that is down took the
// route with it (the kernel drops routes through a downed interface), or
// there is none.
func (t *tracer) noRoute(v nodeView, node string, dst netip.Addr, l lookup) *Failure {
	if l.Found {
		return &Failure{Node: node, Reason: ReasonNoRoute, Detail: fmt.Sprintf("%s's route to %s is %s: %s", node, dst, l.Kind, l.Line)}
	}
	n := t.node(node)
	if n != nil {
		for _, ifc := range n.Interfaces {
			info, ok := v.Iface(ifc.Name)
			if !ok || (info.Up && info.Carrier) {
				continue
			}
			addrs := info.Addrs
			if ifc.IPv4.IsValid() {
				addrs = append(addrs, ifc.IPv4)
			}
			if servedBy(n, dst, addrs) {
				f := linkState(node, ifc.Name, info)
				f.Detail += fmt.Sprintf(", and the route to %s went with it", dst)
				return f
			}
		}
	}
	return &Failure{Node: node, Reason: ReasonNoRoute, Detail: fmt.Sprintf("%s has no route to %s (no matching route and no default route)", node, dst)}
}

// servedBy reports whether dst is on one of addrs' subnets, or one of the
// node's planned routes to dst has its gateway there.
func servedBy(n *topology.Node, dst netip.Addr, addrs []netip.Prefix) bool {
	for _, a := range addrs {
		if a.Masked().Contains(dst) {
			return true
		}
		for _, r := range n.Routes {
			if r.To.Contains(dst) && a.Masked().Contains(r.Via) {
				return true
			}
		}
	}
	return false
}

func (t *tracer) notOnLink(node, iface, seg string, nh, dst netip.Addr) *Failure {
	f := &Failure{Node: node, Reason: ReasonNotOnLink}
	where := t.segName(seg)
	if nh == dst {
		f.Detail = fmt.Sprintf("%s takes %s to be on %s's subnet and sends to it directly, but no node on %s has %s", node, dst, iface, where, nh)
	} else {
		f.Detail = fmt.Sprintf("%s's gateway %s is not an address of any node on %s", node, nh, where)
	}
	if who := t.ownerAnywhere(nh); who != "" {
		f.Detail += fmt.Sprintf(" (%s has it, elsewhere: a wrong prefix length?)", who)
	}
	return f
}

func (t *tracer) node(name string) *topology.Node {
	for i := range t.plan.Nodes {
		if t.plan.Nodes[i].Name == name {
			return &t.plan.Nodes[i]
		}
	}
	return nil
}

// segment names the L2 segment behind a node's interface: "bridge:NAME" or
// "link:INDEX".
func (t *tracer) segment(node, iface string) (string, bool) {
	n := t.node(node)
	if n == nil {
		return "", false
	}
	for _, ifc := range n.Interfaces {
		if ifc.Name != iface {
			continue
		}
		if ifc.Bridge != "" {
			return "bridge:" + ifc.Bridge, true
		}
		return fmt.Sprintf("link:%d", ifc.Link), true
	}
	return "", false
}

func (t *tracer) segName(seg string) string {
	if b, ok := strings.CutPrefix(seg, "bridge:"); ok {
		return "bridge " + b
	}
	var i int
	fmt.Sscanf(seg, "link:%d", &i)
	if i >= 0 && i < len(t.plan.Links) {
		e := t.plan.Links[i].Endpoints
		return "link " + e[0].String() + "-" + e[1].String()
	}
	return seg
}

func (t *tracer) bridgeGateway(seg string) netip.Addr {
	name, ok := strings.CutPrefix(seg, "bridge:")
	if !ok {
		return netip.Addr{}
	}
	for _, b := range t.plan.Bridges {
		if b.Name == name {
			return b.Gateway
		}
	}
	return netip.Addr{}
}

// owner finds the node on segment seg (other than self) that has address
// a: on its interface on seg, else on any of its interfaces (Linux answers
// ARP for any of its addresses). A down interface there is a link down.
func (t *tracer) owner(seg, self string, a netip.Addr) (string, string, *Failure) {
	var weak, weakIf string
	for _, n := range t.plan.Nodes {
		if n.Name == self {
			continue
		}
		for _, ifc := range n.Interfaces {
			if s, _ := t.segment(n.Name, ifc.Name); s != seg {
				continue
			}
			v, err := t.w.view(n.Name)
			if err != nil {
				return "", "", &Failure{Node: n.Name, Reason: ReasonError, Detail: err.Error()}
			}
			info, _ := v.Iface(ifc.Name)
			if hasAddr(info.Addrs, a) {
				if f := linkState(n.Name, ifc.Name, info); f != nil {
					return "", "", f
				}
				return n.Name, ifc.Name, nil
			}
			if weak == "" && v.Local(a) {
				weak, weakIf = n.Name, ifc.Name
			}
		}
	}
	return weak, weakIf, nil
}

// ownerAnywhere names the node:iface that has a, for messages.
func (t *tracer) ownerAnywhere(a netip.Addr) string {
	for _, n := range t.plan.Nodes {
		v, err := t.w.view(n.Name)
		if err != nil {
			continue
		}
		for _, ifc := range n.Interfaces {
			if info, _ := v.Iface(ifc.Name); hasAddr(info.Addrs, a) {
				return n.Name + ":" + ifc.Name
			}
		}
	}
	return ""
}

func hasAddr(addrs []netip.Prefix, a netip.Addr) bool {
	for _, p := range addrs {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// ownerNode is the lab node whose address a is, "" if none.
func (t *tracer) ownerNode(a netip.Addr) string {
	for _, n := range t.plan.Nodes {
		if v, err := t.w.view(n.Name); err == nil && v.Local(a) {
			return n.Name
		}
	}
	return ""
}

// trace follows from → dst and, when dst is a lab node's, the reply back
// to the source address from picks.
func (t *tracer) trace(from string, dst netip.Addr) Trace {
	tr := Trace{Forward: t.walk(from, dst)}
	target := t.ownerNode(dst)
	src := tr.Forward.Src
	if src == "" {
		if n := t.node(from); n != nil && n.FirstAddr().IsValid() {
			src = n.FirstAddr().String()
		}
	}
	if target != "" && src != "" {
		back := t.walk(target, netip.MustParseAddr(src))
		tr.Reverse = &back
	}
	switch {
	case tr.Forward.Failure != nil:
		tr.Verdict = tr.Forward.Failure
	case tr.Reverse != nil && tr.Reverse.Failure != nil:
		f := *tr.Reverse.Failure
		tr.Verdict = &Failure{Node: f.Node, Reason: ReasonReverse,
			Detail: fmt.Sprintf("the reply from %s to %s stops at %s: %s: %s", target, src, f.Node, f.Reason, f.Detail)}
	}
	return tr
}

// confirm adds the ping's outcome to a trace and says when it disagrees.
func (tr *Trace) confirm(from string, ping PingResult) {
	tr.Ping = ping.OK
	if !ping.OK {
		tr.PingDetail = ping.Detail
	}
	switch {
	case tr.Verdict == nil && !ping.OK:
		tr.Verdict = &Failure{Node: from, Reason: ReasonPing,
			Detail: fmt.Sprintf("routes, links and neighbours lead there and back, but the ping from %s got %s: a firewall (iptables) in a node, or packet loss?", from, ping.Detail)}
	case tr.Verdict != nil && ping.OK:
		v := *tr.Verdict
		tr.Verdict = &Failure{Node: v.Node, Reason: ReasonPing,
			Detail: fmt.Sprintf("the trace stops at %s (%s: %s), but a ping got a reply: something this trace does not read (policy routing, a tunnel?) carries it", v.Node, v.Reason, v.Detail)}
	}
	tr.OK = tr.Verdict == nil
}
