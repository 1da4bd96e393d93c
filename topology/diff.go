package topology

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Plan diff (leolab apply): what turns a running lab's plan into an edited
// one. Compare is pure; labs executes a Diff as ordered steps and render
// prints its Changes.

// ChangeKind classifies one change.
type ChangeKind int

// The kinds of change, in the order the executor makes them.
const (
	Remove   ChangeKind = iota // "-": the object goes
	Recreate                   // "~ … recreated": stops and starts again (a node, link or port)
	Add                        // "+": the object is new
	InPlace                    // "~": changed without stopping anything
)

// Symbol is how the kind is printed at the start of a change line.
func (k ChangeKind) Symbol() string {
	switch k {
	case Add:
		return "+"
	case Remove:
		return "-"
	default:
		return "~"
	}
}

// Change is one line of a diff: "+ node h3", "- link r1:eth2 <-> r3:eth1",
// "~ netem r1:eth1 delay 10ms → 20ms", "~ node r2 recreated: rootfs changed".
type Change struct {
	Kind   ChangeKind `json:"-"`
	Op     string     `json:"op"`   // Kind.Symbol(), for JSON
	What   string     `json:"what"` // bridge, node, port, link, netem, mtu, routes, sysctl, nat, lab
	Name   string     `json:"name"` // h3, r1:eth1, r1:eth2 <-> r3:eth1
	Detail string     `json:"detail,omitempty"`
}

func (c Change) String() string {
	s := c.Kind.Symbol() + " " + c.What + " " + c.Name
	if c.Kind == Recreate {
		s += " recreated"
		if c.Detail != "" {
			s += ":"
		}
	}
	if c.Detail != "" {
		s += " " + c.Detail
	}
	return s
}

// LinkID names a point-to-point link by its endpoints, whichever way round
// they are written.
type LinkID [2]Endpoint

// IDOf is l's LinkID.
func IDOf(l Link) LinkID { return LinkID(linkKey(l.Endpoints)) }

func (id LinkID) String() string { return id[0].String() + " <-> " + id[1].String() }

// Diff is everything that differs between two plans of one lab, by what
// the executor does about it. Names refer to the new plan for what is added
// or changed, to the old one for what is removed.
type Diff struct {
	Changes []Change // in print order: bridges, nodes, ports, links, in place

	RemoveBridges, AddBridges []string // a re-created bridge is in both
	NATChanged                bool     // the forward/NAT chains need rewriting
	BridgeMTU                 []string // bridges whose MTU changes in place

	RemoveNodes, AddNodes []string
	RecreateNodes         []string // stop, then start with the new plan; links re-attached

	RemovePorts, AddPorts []Endpoint // bridge ports of nodes that stay (a re-created port is in both)
	RemoveLinks, AddLinks []LinkID   // a re-created link is in both

	Netem   []Endpoint // link ends whose impairments change in place
	MTU     []Endpoint // interfaces whose MTU changes in place
	Routes  []string   // nodes whose routes change in place
	Sysctls []string   // nodes with sysctls set or changed in place
	Record  bool       // only the recorded plan changes (shutdown, after, checks)
}

// Empty reports whether nothing at all changes.
func (d *Diff) Empty() bool { return len(d.Changes) == 0 && !d.Record }

func (d *Diff) add(k ChangeKind, what, name, detail string) {
	d.Changes = append(d.Changes, Change{Kind: k, Op: k.Symbol(), What: what, Name: name, Detail: detail})
}

// Compare lists what turns old into new. Both are plans of the same lab.
func Compare(old, new *Plan) *Diff {
	d := &Diff{}
	if old.Isolated != new.Isolated {
		d.add(InPlace, "lab", old.Name, fmt.Sprintf("isolated %t → %t (needs deploy --reconfigure)", old.Isolated, new.Isolated))
	}
	recreatedBridges := d.compareBridges(old, new)
	d.compareNodes(old, new)
	d.comparePorts(old, new, recreatedBridges)
	d.compareLinks(old, new)
	d.compareRoutes(old, new)
	if !reflect.DeepEqual(old.Checks, new.Checks) {
		d.Record = true
	}
	return d
}

func bridgesByName(p *Plan) map[string]*Bridge {
	m := make(map[string]*Bridge, len(p.Bridges))
	for i := range p.Bridges {
		m[p.Bridges[i].Name] = &p.Bridges[i]
	}
	return m
}

func nodesByName(p *Plan) map[string]*Node {
	m := make(map[string]*Node, len(p.Nodes))
	for i := range p.Nodes {
		m[p.Nodes[i].Name] = &p.Nodes[i]
	}
	return m
}

// compareBridges returns the bridges re-created (their ports go with them).
func (d *Diff) compareBridges(old, new *Plan) map[string]bool {
	was, now := bridgesByName(old), bridgesByName(new)
	recreated := map[string]bool{}
	for _, b := range old.Bridges {
		if now[b.Name] == nil {
			d.RemoveBridges = append(d.RemoveBridges, b.Name)
			d.NATChanged = true
			d.add(Remove, "bridge", b.Name, "")
		}
	}
	for _, b := range new.Bridges {
		o := was[b.Name]
		if o == nil {
			d.AddBridges = append(d.AddBridges, b.Name)
			d.NATChanged = true
			d.add(Add, "bridge", b.Name, b.Subnet.String())
			continue
		}
		if why := bridgeRecreate(o, &b); why != "" {
			recreated[b.Name] = true
			d.RemoveBridges = append(d.RemoveBridges, b.Name)
			d.AddBridges = append(d.AddBridges, b.Name)
			d.NATChanged = true
			d.add(Recreate, "bridge", b.Name, why)
			continue
		}
		if o.NAT != b.NAT {
			d.NATChanged = true
			d.add(InPlace, "nat", b.Name, fmt.Sprintf("%t → %t", o.NAT, b.NAT))
		}
		if o.MTU != b.MTU {
			d.BridgeMTU = append(d.BridgeMTU, b.Name)
			d.add(InPlace, "mtu", b.Name, fmt.Sprintf("%d → %d", o.MTU, b.MTU))
		}
	}
	return recreated
}

func bridgeRecreate(o, b *Bridge) string {
	switch {
	case o.Subnet != b.Subnet:
		return fmt.Sprintf("subnet %s → %s", o.Subnet, b.Subnet)
	case o.Gateway != b.Gateway:
		return fmt.Sprintf("gateway %s → %s", orNone(o.Gateway.String()), orNone(b.Gateway.String()))
	case o.Subnet6 != b.Subnet6 || o.Gateway6 != b.Gateway6:
		return fmt.Sprintf("subnet6 %s → %s", orNone(o.Subnet6.String()), orNone(b.Subnet6.String()))
	case o.Device != b.Device || o.Alias != b.Alias:
		return "device changed"
	case !reflect.DeepEqual(o.VXLAN, b.VXLAN) || !slices.Equal(o.Hosts, b.Hosts):
		return "hosts changed"
	}
	return ""
}

func orNone(s string) string {
	if s == "" || strings.HasPrefix(s, "invalid") {
		return "none"
	}
	return s
}

func (d *Diff) compareNodes(old, new *Plan) {
	was, now := nodesByName(old), nodesByName(new)
	for _, n := range old.Nodes {
		if now[n.Name] == nil {
			d.RemoveNodes = append(d.RemoveNodes, n.Name)
			d.add(Remove, "node", n.Name, "")
		}
	}
	for _, n := range new.Nodes {
		o := was[n.Name]
		if o == nil {
			d.AddNodes = append(d.AddNodes, n.Name)
			d.add(Add, "node", n.Name, "")
			continue
		}
		if why := NodeRecreate(o, &n); why != "" {
			d.RecreateNodes = append(d.RecreateNodes, n.Name)
			d.add(Recreate, "node", n.Name, why)
			continue
		}
		if detail := sysctlChange(o.Sysctls, n.Sysctls); detail != "" {
			d.Sysctls = append(d.Sysctls, n.Name)
			d.add(InPlace, "sysctl", n.Name, detail)
		}
		if !slices.Equal(o.Shutdown, n.Shutdown) || !slices.Equal(o.After, n.After) {
			d.Record = true
		}
	}
}

// NodeRecreate says why o cannot become n in place ("rootfs changed"), or
// "" when it can: only what the node's init was started with forces a
// restart; networking, routes and most sysctls change in place.
func NodeRecreate(o, n *Node) string {
	checks := []struct {
		what  string
		equal bool
	}{
		{"rootfs", o.Rootfs == n.Rootfs && o.RootfsCopy == n.RootfsCopy && o.Overlay == n.Overlay},
		{"cmd", slices.Equal(o.Cmd, n.Cmd)},
		{"env", slices.Equal(o.Env, n.Env)},
		{"exec", slices.Equal(o.Exec, n.Exec)},
		{"binds", slices.Equal(o.Binds, n.Binds)},
		{"limits", o.Limits == n.Limits},
		{"privileged", o.Privileged == n.Privileged},
		{"user_namespace", o.UserNamespace == n.UserNamespace},
		{"capabilities", reflect.DeepEqual(o.Caps, n.Caps)},
		{"frr", frrEqual(o.FRR, n.FRR)},
		{"bird", birdEqual(o.Bird, n.Bird)},
		{"host", o.Host == n.Host},
		{"sysctls", !sysctlRemoved(o.Sysctls, n.Sysctls)},
	}
	var why []string
	for _, c := range checks {
		if !c.equal {
			why = append(why, c.what)
		}
	}
	if len(why) == 0 {
		return ""
	}
	return strings.Join(why, ", ") + " changed"
}

func frrEqual(a, b *FRR) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.At, y.At = Pos{}, Pos{}
	return reflect.DeepEqual(x, y)
}

func birdEqual(a, b *Bird) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Config == b.Config
}

// sysctlRemoved reports whether a key set before is gone: the kernel's
// default cannot be put back from outside, so the node restarts.
func sysctlRemoved(o, n []Sysctl) bool {
	keys := map[string]bool{}
	for _, s := range n {
		keys[s.Key] = true
	}
	for _, s := range o {
		if !keys[s.Key] {
			return true
		}
	}
	return false
}

// sysctlChange describes keys added or changed ("net.ipv4.ip_forward 0 → 1").
func sysctlChange(o, n []Sysctl) string {
	was := map[string]string{}
	for _, s := range o {
		was[s.Key] = s.Value
	}
	var out []string
	for _, s := range n {
		if v, ok := was[s.Key]; !ok {
			out = append(out, s.Key+"="+s.Value)
		} else if v != s.Value {
			out = append(out, s.Key+" "+v+" → "+s.Value)
		}
	}
	return strings.Join(out, ", ")
}

// comparePorts lists bridge ports added, removed or re-created on nodes that
// stay as they are, and in-place MTU changes.
func (d *Diff) comparePorts(old, new *Plan, recreatedBridges map[string]bool) {
	was := nodesByName(old)
	skip := d.ReplacedNodes()
	for _, n := range old.Nodes {
		if skip[n.Name] {
			continue
		}
		nn := new.Node(n.Name)
		for _, ifc := range n.Interfaces {
			if ifc.Bridge == "" {
				continue
			}
			if ni := nn.Iface(ifc.Name); ni == nil || ni.Bridge == "" {
				d.RemovePorts = append(d.RemovePorts, Endpoint{n.Name, ifc.Name})
				d.add(Remove, "port", n.Name+":"+ifc.Name, "on "+ifc.Bridge)
			}
		}
	}
	for _, n := range new.Nodes {
		o := was[n.Name]
		if o == nil || skip[n.Name] {
			continue
		}
		for _, ifc := range n.Interfaces {
			if ifc.Bridge == "" {
				continue
			}
			e := Endpoint{n.Name, ifc.Name}
			oi := o.Iface(ifc.Name)
			switch {
			case oi == nil || oi.Bridge == "":
				d.AddPorts = append(d.AddPorts, e)
				d.add(Add, "port", e.String(), "on "+ifc.Bridge)
			case recreatedBridges[ifc.Bridge] || portRecreate(oi, &ifc) != "":
				d.RemovePorts = append(d.RemovePorts, e)
				d.AddPorts = append(d.AddPorts, e)
				why := portRecreate(oi, &ifc)
				if why == "" {
					why = "bridge " + ifc.Bridge + " recreated"
				}
				d.add(Recreate, "port", e.String(), why)
			case oi.MTU != ifc.MTU:
				d.MTU = append(d.MTU, e)
			}
		}
	}
}

func portRecreate(o, n *Interface) string {
	switch {
	case o.Bridge != n.Bridge:
		return "bridge " + o.Bridge + " → " + n.Bridge
	case o.IPv4 != n.IPv4:
		return fmt.Sprintf("ipv4 %s → %s", orNone(o.IPv4.String()), orNone(n.IPv4.String()))
	case o.IPv6 != n.IPv6:
		return fmt.Sprintf("ipv6 %s → %s", orNone(o.IPv6.String()), orNone(n.IPv6.String()))
	case o.MAC != n.MAC || o.HostDevice != n.HostDevice || o.Alias != n.Alias:
		return "device changed"
	case !reflect.DeepEqual(o.Netem, n.Netem):
		return "netem changed"
	}
	return ""
}

// ReplacedNodes are the nodes that go or restart: their ports and links
// are not listed one by one.
func (d *Diff) ReplacedNodes() map[string]bool {
	m := map[string]bool{}
	for _, list := range [][]string{d.AddNodes, d.RemoveNodes, d.RecreateNodes} {
		for _, n := range list {
			m[n] = true
		}
	}
	return m
}

// Node is the plan's node of that name, or nil.
func (p *Plan) Node(name string) *Node {
	for i := range p.Nodes {
		if p.Nodes[i].Name == name {
			return &p.Nodes[i]
		}
	}
	return nil
}

// Iface is the node's interface of that name, or nil (also for a nil node).
func (n *Node) Iface(name string) *Interface {
	if n == nil {
		return nil
	}
	for i := range n.Interfaces {
		if n.Interfaces[i].Name == name {
			return &n.Interfaces[i]
		}
	}
	return nil
}

func linksByID(p *Plan) map[LinkID]*Link {
	m := make(map[LinkID]*Link, len(p.Links))
	for i := range p.Links {
		m[IDOf(p.Links[i])] = &p.Links[i]
	}
	return m
}

// compareLinks lists links added, removed or re-created, then in-place
// netem and MTU changes of the links that stay. Links of nodes that are
// added, removed or recreated come and go with their nodes, but are listed.
func (d *Diff) compareLinks(old, new *Plan) {
	was, now := linksByID(old), linksByID(new)
	replaced := d.ReplacedNodes()
	for _, l := range old.Links {
		id := IDOf(l)
		if now[id] == nil {
			d.RemoveLinks = append(d.RemoveLinks, id)
			d.add(Remove, "link", id.String(), "")
		}
	}
	for _, l := range new.Links {
		id := IDOf(l)
		o := was[id]
		if o == nil {
			d.AddLinks = append(d.AddLinks, id)
			d.add(Add, "link", id.String(), "")
			continue
		}
		if replaced[id[0].Node] || replaced[id[1].Node] {
			continue // re-attached with its recreated node
		}
		if why := linkRecreate(old, new, o, &l); why != "" {
			d.RemoveLinks = append(d.RemoveLinks, id)
			d.AddLinks = append(d.AddLinks, id)
			d.add(Recreate, "link", id.String(), why)
			continue
		}
		d.compareLinkEnds(old, new, l)
	}
}

func linkRecreate(old, new *Plan, o, l *Link) string {
	switch {
	case o.Subnet != l.Subnet:
		return fmt.Sprintf("subnet %s → %s", orNone(o.Subnet.String()), orNone(l.Subnet.String()))
	case o.Subnet6 != l.Subnet6:
		return fmt.Sprintf("subnet6 %s → %s", orNone(o.Subnet6.String()), orNone(l.Subnet6.String()))
	case !reflect.DeepEqual(o.VXLAN, l.VXLAN):
		return "hosts changed"
	}
	for _, e := range l.Endpoints {
		oi, ni := old.Node(e.Node).Iface(e.Iface), new.Node(e.Node).Iface(e.Iface)
		if oi == nil || ni == nil || oi.Link < 0 {
			return "endpoint " + e.String() + " changed"
		}
		if oi.IPv4 != ni.IPv4 || oi.IPv6 != ni.IPv6 || oi.MAC != ni.MAC {
			return "addresses of " + e.String() + " changed"
		}
	}
	return ""
}

// compareLinkEnds lists netem and MTU changes of a link that stays.
func (d *Diff) compareLinkEnds(old, new *Plan, l Link) {
	for _, e := range l.Endpoints {
		oi, ni := old.Node(e.Node).Iface(e.Iface), new.Node(e.Node).Iface(e.Iface)
		if !NetemEqual(oi.Netem, ni.Netem) {
			d.Netem = append(d.Netem, e)
			d.add(InPlace, "netem", e.String(), NetemChange(oi.Netem, ni.Netem))
		}
		if oi.MTU != ni.MTU {
			d.MTU = append(d.MTU, e)
			d.add(InPlace, "mtu", e.String(), fmt.Sprintf("%d → %d", oi.MTU, ni.MTU))
		}
	}
}

// NetemEqual compares two impairments, nil being none.
func NetemEqual(a, b *Netem) bool {
	if a == nil {
		a = &Netem{}
	}
	if b == nil {
		b = &Netem{}
	}
	return *a == *b
}

// NetemChange describes a netem change field by field: "delay 10ms → 20ms".
func NetemChange(a, b *Netem) string {
	if a == nil {
		a = &Netem{}
	}
	if b == nil {
		b = &Netem{}
	}
	var out []string
	field := func(name string, x, y any, differ bool) {
		if differ {
			out = append(out, fmt.Sprintf("%s %v → %v", name, x, y))
		}
	}
	field("delay", a.Delay, b.Delay, a.Delay != b.Delay)
	field("jitter", a.Jitter, b.Jitter, a.Jitter != b.Jitter)
	field("loss", pctString(a.LossPct), pctString(b.LossPct), a.LossPct != b.LossPct)
	field("rate", rateString(a.RateBits), rateString(b.RateBits), a.RateBits != b.RateBits)
	field("duplicate", pctString(a.Duplicate), pctString(b.Duplicate), a.Duplicate != b.Duplicate)
	field("corrupt", pctString(a.Corrupt), pctString(b.Corrupt), a.Corrupt != b.Corrupt)
	field("reorder", pctString(a.Reorder), pctString(b.Reorder), a.Reorder != b.Reorder)
	return strings.Join(out, ", ")
}

func pctString(v float64) string { return fmt.Sprintf("%g%%", v) }

func rateString(bits uint64) string {
	switch {
	case bits == 0:
		return "none"
	case bits%1_000_000 == 0:
		return fmt.Sprintf("%dmbit", bits/1_000_000)
	case bits%1000 == 0:
		return fmt.Sprintf("%dkbit", bits/1000)
	}
	return fmt.Sprintf("%dbit", bits)
}

// compareRoutes lists in-place route changes of nodes that stay.
func (d *Diff) compareRoutes(old, new *Plan) {
	replaced := d.ReplacedNodes()
	was := nodesByName(old)
	for _, n := range new.Nodes {
		o := was[n.Name]
		if o == nil || replaced[n.Name] {
			continue
		}
		if detail := routeChange(o.Routes, n.Routes); detail != "" {
			d.Routes = append(d.Routes, n.Name)
			d.add(InPlace, "routes", n.Name, detail)
		}
	}
}

func routeString(r Route) string {
	to := r.To.String()
	if r.To.Bits() == 0 {
		to = "default"
	}
	return to + " via " + r.Via.String()
}

// routeChange describes routes added and removed: "+ default via 172.20.1.254, - 10.0.0.0/8 via …".
func routeChange(o, n []Route) string {
	var out []string
	for _, r := range n {
		if !slices.Contains(o, r) {
			out = append(out, "+ "+routeString(r))
		}
	}
	for _, r := range o {
		if !slices.Contains(n, r) {
			out = append(out, "- "+routeString(r))
		}
	}
	return strings.Join(out, ", ")
}

// RoutesRemoved are the routes of o that n no longer has.
func RoutesRemoved(o, n []Route) []Route {
	var out []Route
	for _, r := range o {
		if !slices.Contains(n, r) {
			out = append(out, r)
		}
	}
	return out
}

// KeepIndexes gives every node of p that prev has the Index it had (its
// control socket is named after it) and the new nodes indexes above all of
// prev's, in file order.
func (p *Plan) KeepIndexes(prev *Plan) {
	next := 0
	was := map[string]int{}
	for _, n := range prev.Nodes {
		was[n.Name] = n.Index
		next = max(next, n.Index+1)
	}
	for i := range p.Nodes {
		if idx, ok := was[p.Nodes[i].Name]; ok {
			p.Nodes[i].Index = idx
		} else {
			p.Nodes[i].Index = next
			next++
		}
	}
}
