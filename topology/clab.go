package topology

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"leolab/ipam"
)

// containerlab compatibility (SPEC §1): a file with a top-level "topology:"
// key is read as containerlab's format and translated into leolab's raw
// structs, keeping every value's position, before resolving. What has no
// leolab meaning is an error naming the field, never dropped:
//   - kind: linux nodes become nodes: image → rootfs docker://IMAGE; binds,
//     exec, env, cmd, sysctls carry over; mgmt-ipv4 is eth0's address.
//     Precedence is node > group > kind > defaults, as in containerlab:
//     env, sysctls and labels merge key by key, binds merge by container
//     path, every other field is taken whole from the first level setting it.
//     A node of FRR's image (frrouting/frr) without cmd runs FRR as that
//     image does, from its own (usually bound) /etc/frr/daemons.
//   - kind: bridge nodes become lab bridges (leolab creates and removes
//     them) without a host address; links to them become bridge ports.
//   - links, brief (endpoints: ["a:eth1", "b:eth1"]) or typed (type: veth,
//     endpoints with node, interface and ipv4), become links. As in
//     containerlab, links carry no address unless the endpoints give one;
//     two endpoint addresses must be the first and second host of one
//     subnet (the only addressing leolab links have).
//   - the management network becomes bridge "mgmt" (mgmt.ipv4-subnet,
//     default 172.20.20.0/24, NAT to the outside like Docker's, except with
//     --isolated) holding every node's eth0, so data links start at eth1.

// ClabMgmtSubnet is containerlab's default management subnet.
const ClabMgmtSubnet = "172.20.20.0/24"

// clabMgmtBridge is the bridge holding every node's eth0.
const clabMgmtBridge = "mgmt"

// decodeAny reads leolab's own format, or containerlab's when the file has
// a top-level topology: key.
func (d *decoder) decodeAny(body ast.Node, opts Options) *rawFile {
	if isClab(body) {
		return d.decodeClab(body, opts)
	}
	return d.decodeFile(body)
}

func isClab(body ast.Node) bool {
	var pairs []*ast.MappingValueNode
	switch v := unwrap(body).(type) {
	case *ast.MappingNode:
		pairs = v.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{v}
	}
	for _, p := range pairs {
		if k, ok := scalarText(p.Key); ok && k == "topology" {
			return true
		}
	}
	return false
}

// clabNode is one level of containerlab node settings: defaults, a kind, a
// group or a node.
type clabNode struct {
	name     sval // the key (nodes, groups, kinds)
	kind     sval
	group    sval
	image    sval
	binds    []sval
	bindsSet bool
	exec     []sval
	execSet  bool
	env      []kv
	cmd      sval
	sysctls  []kv
	mgmtIPv4 sval
	own      []entry // every key written at this level, for kind: bridge checks
}

type clab struct {
	*decoder
	opts     Options
	defaults *clabNode
	kinds    map[string]*clabNode
	groups   map[string]*clabNode
	nodes    []*clabNode
	links    []ast.Node
	mgmt     rawBridge
	out      *rawFile
	byName   map[string]*rawNode   // linux nodes
	bridges  map[string]*rawBridge // kind: bridge nodes
	brSubnet map[string]bool       // bridges whose subnet came from a port address
}

func (d *decoder) decodeClab(body ast.Node, opts Options) *rawFile {
	c := &clab{decoder: d, opts: opts, kinds: map[string]*clabNode{}, groups: map[string]*clabNode{},
		byName: map[string]*rawNode{}, bridges: map[string]*rawBridge{}, brSubnet: map[string]bool{}}
	c.out = &rawFile{body: body}
	mgmtAt := posOf(body)
	c.mgmt = rawBridge{name: sval{v: clabMgmtBridge, pos: mgmtAt, set: true},
		subnet: sval{v: ClabMgmtSubnet, pos: mgmtAt, set: true}}
	c.clabFields(body, "containerlab topology file", map[string]func(entry){
		"name": func(e entry) {
			c.out.name, _ = d.str(e)
			c.out.name.set = true
		},
		"mgmt":     c.decodeMgmt,
		"topology": c.decodeTopology,
	})
	if !c.opts.Isolated {
		c.mgmt.nat = bval{v: true, pos: c.mgmt.name.pos, set: true}
		c.mgmt.natKey = c.mgmt.name.pos
	}
	c.out.bridges = append(c.out.bridges, &c.mgmt)
	c.translateNodes()
	for _, l := range c.links {
		c.translateLink(l)
	}
	return c.out
}

// clabFields is fields with a message saying the key is containerlab's and
// has no leolab translation.
func (c *clab) clabFields(n ast.Node, what string, handlers map[string]func(entry)) {
	entries, _ := c.mapping(n, what)
	for _, e := range entries {
		h, ok := handlers[e.key]
		if !ok {
			c.errAt(e.kpos, "%s: %q cannot be translated to leolab (supported: %s)", what, e.key, keyList(handlers))
			continue
		}
		h(e)
	}
}

func (c *clab) decodeMgmt(e entry) {
	c.mgmt.name.pos = e.kpos
	c.clabFields(e.value, "mgmt", map[string]func(entry){
		"network": func(e entry) { c.str(e) }, // Docker's network name: the bridge is always "mgmt"
		"ipv4-subnet": func(e entry) {
			if s, ok := c.str(e); ok {
				c.mgmt.subnet = s
			}
		},
		"mtu": func(e entry) { c.mgmt.mtu, _ = c.integer(e) },
	})
}

func (c *clab) decodeTopology(e entry) {
	c.clabFields(e.value, "topology", map[string]func(entry){
		"defaults": func(e entry) { c.defaults = c.decodeLevel(e, "topology.defaults", false) },
		"kinds": func(e entry) {
			entries, _ := c.mapping(e.value, "topology.kinds")
			for _, k := range entries {
				if k.key != "linux" && k.key != "bridge" {
					c.errAt(k.kpos, "kinds: kind %q cannot be translated to leolab (only linux and bridge)", k.key)
					continue
				}
				c.kinds[k.key] = c.decodeLevel(k, "kinds."+k.key, false)
			}
		},
		"groups": func(e entry) {
			entries, _ := c.mapping(e.value, "topology.groups")
			for _, g := range entries {
				c.groups[g.key] = c.decodeLevel(g, "groups."+g.key, false)
			}
		},
		"nodes": func(e entry) {
			entries, _ := c.mapping(e.value, "topology.nodes")
			for _, n := range entries {
				c.nodes = append(c.nodes, c.decodeLevel(n, "node "+n.key, true))
			}
		},
		"links": func(e entry) { c.links = c.optionalList(e, "links") },
	})
}

// decodeLevel reads one level of node settings; group and mgmt-ipv4 only
// exist on nodes.
func (c *clab) decodeLevel(e entry, what string, isNode bool) *clabNode {
	n := &clabNode{name: sval{v: e.key, pos: e.kpos, set: true}}
	handlers := map[string]func(entry){
		"kind":  func(e entry) { n.kind, _ = c.str(e) },
		"image": func(e entry) { n.image, _ = c.str(e) },
		"binds": func(e entry) { n.binds, _ = c.strList(e); n.bindsSet = true },
		"exec":  func(e entry) { n.exec, _ = c.strList(e); n.execSet = true },
		"env":   func(e entry) { n.env = c.decodeKV(e, what) },
		"cmd":   func(e entry) { n.cmd, _ = c.str(e) },
		"sysctls": func(e entry) {
			n.sysctls = c.decodeKV(e, what)
		},
		"labels": func(e entry) { c.decodeKV(e, what) }, // metadata only: nothing to run
	}
	if isNode {
		handlers["group"] = func(e entry) { n.group, _ = c.str(e) }
		handlers["mgmt-ipv4"] = func(e entry) { n.mgmtIPv4, _ = c.str(e) }
	}
	own := handlers
	handlers = map[string]func(entry){}
	for k, h := range own {
		handlers[k] = func(e entry) { n.own = append(n.own, e); h(e) }
	}
	c.clabFields(e.value, what, handlers)
	return n
}

// levels are a node's settings from highest precedence down: node, group,
// kind, defaults (nil levels left out).
func (c *clab) levels(n *clabNode) []*clabNode {
	out := []*clabNode{n}
	if n.group.set {
		if g := c.groups[n.group.v]; g != nil {
			out = append(out, g)
		} else {
			c.errAt(n.group.pos, "node %s: unknown group %q", n.name.v, n.group.v)
		}
	}
	kindOf := c.kindOf(append(out, c.defaults))
	if k := c.kinds[kindOf.v]; k != nil {
		out = append(out, k)
	}
	if c.defaults != nil {
		out = append(out, c.defaults)
	}
	return out
}

// kindOf is the first kind set among levels (kinds: cannot set a kind).
func (c *clab) kindOf(levels []*clabNode) sval {
	for _, l := range levels {
		if l != nil && l.kind.set {
			return l.kind
		}
	}
	return sval{}
}

func (c *clab) translateNodes() {
	for _, n := range c.nodes {
		levels := c.levels(n)
		k := c.kindOf(levels)
		switch {
		case !k.set:
			c.errAt(n.name.pos, "node %s has no kind (leolab translates kind: linux and kind: bridge)", n.name.v)
		case k.v == "linux":
			c.linuxNode(n, levels)
		case k.v == "bridge":
			c.bridgeNode(n)
		default:
			c.errAt(k.pos, "kind: %s (node %s) cannot be translated to leolab: only kind: linux nodes and kind: bridge bridges", k.v, n.name.v)
		}
	}
}

func (c *clab) bridgeNode(n *clabNode) {
	if n.name.v == clabMgmtBridge {
		c.errAt(n.name.pos, "bridge name %q is taken by containerlab's management network", n.name.v)
		return
	}
	for _, e := range n.own {
		if e.key != "kind" && e.key != "labels" && e.key != "group" {
			c.errAt(e.kpos, "node %s: %q has no meaning for a kind: bridge node", n.name.v, e.key)
		}
	}
	// containerlab's bridges are plain L2 switches: no address on the host.
	b := &rawBridge{name: n.name, gateway: bval{v: false, pos: n.name.pos, set: true}}
	c.bridges[n.name.v] = b
	c.out.bridges = append(c.out.bridges, b)
}

func (c *clab) linuxNode(n *clabNode, levels []*clabNode) {
	rn := &rawNode{name: n.name}
	for _, l := range levels {
		if !rn.rootfs.set && l.image.set {
			rn.rootfs = sval{v: "docker://" + l.image.v, pos: l.image.pos, set: true}
		}
		if !rn.execSet && l.execSet {
			rn.exec, rn.execSet = l.exec, true
		}
		if !rn.cmdSet && l.cmd.set {
			rn.cmd, rn.cmdSet = []sval{{v: "/bin/sh", pos: l.cmd.pos, set: true}, {v: "-c", pos: l.cmd.pos, set: true}, l.cmd}, true
		}
	}
	// Lower levels first, so that higher ones replace them.
	for i := len(levels) - 1; i >= 0; i-- {
		rn.env = mergeKV(rn.env, levels[i].env)
		rn.sysctls = mergeKV(rn.sysctls, levels[i].sysctls)
		if levels[i].bindsSet {
			rn.binds, rn.bindsSet = mergeBinds(rn.binds, levels[i].binds), true
		}
	}
	if !rn.cmdSet && rn.rootfs.set && isFRRImage(rn.rootfs.v) {
		// FRR's image starts watchfrr from its /etc/frr/daemons: so does the node.
		rn.frr = &rawFRR{at: rn.rootfs.pos, implicit: true}
	}
	eth0 := &rawIface{name: sval{v: "eth0", pos: n.name.pos, set: true}, bridge: sval{v: clabMgmtBridge, pos: n.name.pos, set: true}}
	if n.mgmtIPv4.set {
		eth0.ipv4 = n.mgmtIPv4
	}
	rn.interfaces = []*rawIface{eth0}
	c.byName[n.name.v] = rn
	c.out.nodes = append(c.out.nodes, rn)
}

// isFRRImage reports FRR's own container images (quay.io/frrouting/frr,
// frrouting/frr, any tag).
func isFRRImage(rootfs string) bool {
	ref := strings.TrimPrefix(rootfs, "docker://")
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref == "frrouting/frr" || strings.HasSuffix(ref, "/frrouting/frr")
}

// mergeBinds puts own binds over inherited ones with the same container
// path, as containerlab does.
func mergeBinds(inherited, own []sval) []sval {
	target := func(s sval) string {
		parts := strings.Split(s.v, ":")
		if len(parts) < 2 {
			return s.v
		}
		return parts[1]
	}
	mine := map[string]bool{}
	for _, o := range own {
		mine[target(o)] = true
	}
	var out []sval
	for _, b := range inherited {
		if !mine[target(b)] {
			out = append(out, b)
		}
	}
	return append(out, own...)
}

// clabEnd is one link endpoint as written.
type clabEnd struct {
	at    pos
	node  sval
	iface sval
	ipv4  sval
}

func (c *clab) translateLink(item ast.Node) {
	var typ sval
	var endsEntry entry
	var endsSet, typeOK = false, true
	l := &rawLink{at: posOf(item)}
	c.clabFields(item, "link", map[string]func(entry){
		"type": func(e entry) {
			typ, _ = c.str(e)
			if typ.set && typ.v != "veth" {
				c.errAt(typ.pos, "link type: %s cannot be translated to leolab (only veth links)", typ.v)
				typeOK = false
			}
		},
		"endpoints": func(e entry) { endsEntry, endsSet = e, true },
		"mtu":       func(e entry) { l.mtu, _ = c.integer(e) },
		"labels":    func(e entry) { c.decodeKV(e, "link") },
	})
	if !endsSet {
		c.errAt(l.at, "link needs endpoints")
		return
	}
	if !typeOK {
		return
	}
	var ends []clabEnd
	var ok bool
	if typ.set {
		ends, ok = c.typedEnds(endsEntry)
	} else {
		ends, ok = c.briefEnds(endsEntry)
	}
	l.endsAt = valuePos(endsEntry)
	if !ok {
		return
	}
	if len(ends) != 2 {
		c.errAt(l.endsAt, "a link has exactly 2 endpoints, not %d", len(ends))
		return
	}
	c.placeLink(l, ends)
}

// briefEnds reads endpoints: ["a:eth1", "b:eth1"].
func (c *clab) briefEnds(e entry) ([]clabEnd, bool) {
	list, ok := c.endpoints(e)
	if !ok {
		return nil, false
	}
	var out []clabEnd
	for _, s := range list {
		node, iface, found := strings.Cut(s.v, ":")
		if !found || node == "" || iface == "" {
			c.errAt(s.pos, "link endpoint %q is not NODE:INTERFACE", s.v)
			return nil, false
		}
		out = append(out, clabEnd{at: s.pos, node: sval{v: node, pos: s.pos, set: true}, iface: sval{v: iface, pos: s.pos, set: true}})
	}
	return out, true
}

// typedEnds reads endpoints: [{node: a, interface: eth1, ipv4: …}, …].
func (c *clab) typedEnds(e entry) ([]clabEnd, bool) {
	seq, ok := unwrap(e.value).(*ast.SequenceNode)
	if !ok {
		c.errAt(valuePos(e), "endpoints must be a list, not %s", kind(e.value))
		return nil, false
	}
	var out []clabEnd
	good := true
	for _, item := range seq.Values {
		end := clabEnd{at: posOf(item)}
		c.clabFields(item, "endpoint", map[string]func(entry){
			"node":      func(e entry) { end.node, _ = c.str(e) },
			"interface": func(e entry) { end.iface, _ = c.str(e) },
			"ipv4":      func(e entry) { end.ipv4, _ = c.str(e) },
		})
		if !end.node.set || !end.iface.set {
			c.errAt(end.at, "endpoint needs node and interface")
			good = false
		}
		out = append(out, end)
	}
	return out, good
}

// placeLink turns two endpoints into a bridge port (one end a kind: bridge
// node) or a point-to-point link.
func (c *clab) placeLink(l *rawLink, ends []clabEnd) {
	for _, e := range ends {
		switch e.node.v {
		case "host", "mgmt-net", "macvlan", "vxlan", "vxlan-stitch", "dummy":
			c.errAt(e.node.pos, "link endpoint %s:%s cannot be translated to leolab (%s links are not supported)", e.node.v, e.iface.v, e.node.v)
			return
		}
	}
	b0, b1 := c.bridges[ends[0].node.v], c.bridges[ends[1].node.v]
	switch {
	case b0 != nil && b1 != nil:
		c.errAt(ends[0].at, "link between bridges %s and %s cannot be translated (leolab links join nodes)", ends[0].node.v, ends[1].node.v)
	case b0 != nil:
		c.bridgePort(b0, ends[1])
	case b1 != nil:
		c.bridgePort(b1, ends[0])
	default:
		c.p2pLink(l, ends)
	}
}

// bridgePort makes end an interface of its node on bridge b; a port address
// gives an unaddressed bridge its subnet.
func (c *clab) bridgePort(b *rawBridge, end clabEnd) {
	rn := c.byName[end.node.v]
	if rn == nil {
		c.errAt(end.node.pos, "link endpoint: unknown node %q", end.node.v)
		return
	}
	ifc := &rawIface{name: end.iface, bridge: sval{v: b.name.v, pos: end.at, set: true}, ipv4: end.ipv4}
	if !end.ipv4.set {
		ifc.ipv4 = sval{v: "none", pos: end.at, set: true} // containerlab leaves ports unaddressed
	} else if p, err := netip.ParsePrefix(end.ipv4.v); err == nil && !b.subnet.set {
		b.subnet = sval{v: p.Masked().String(), pos: end.ipv4.pos, set: true}
	}
	rn.interfaces = append(rn.interfaces, ifc)
}

// p2pLink addresses a link from its endpoints' ipv4: none given, the link
// is bare, as in containerlab; both given, they must be the first and
// second host of one subnet, which becomes the link's subnet.
func (c *clab) p2pLink(l *rawLink, ends []clabEnd) {
	a, b := ends[0], ends[1]
	switch {
	case !a.ipv4.set && !b.ipv4.set:
		l.ipv4 = sval{v: "none", pos: l.at, set: true}
	case a.ipv4.set != b.ipv4.set:
		one := a.ipv4
		if !one.set {
			one = b.ipv4
		}
		c.errAt(one.pos, "ipv4 on one endpoint only: give both endpoints an address on one subnet, or neither")
	default:
		subnet, swap, err := linkSubnet(a.ipv4.v, b.ipv4.v)
		if err != nil {
			c.errAt(a.ipv4.pos, "endpoint ipv4 %s and %s: %v", a.ipv4.v, b.ipv4.v, err)
			break
		}
		if swap {
			a, b = b, a
		}
		l.subnet = sval{v: subnet.String(), pos: a.ipv4.pos, set: true}
	}
	l.endpoints = []sval{
		{v: a.node.v + ":" + a.iface.v, pos: a.at, set: true},
		{v: b.node.v + ":" + b.iface.v, pos: b.at, set: true},
	}
	l.endsOK = true
	c.out.links = append(c.out.links, l)
}

// linkSubnet is the subnet two endpoint addresses share when they are its
// first and second host (swap: the second endpoint holds the first).
func linkSubnet(x, y string) (netip.Prefix, bool, error) {
	px, errX := netip.ParsePrefix(x)
	py, errY := netip.ParsePrefix(y)
	if errX != nil || errY != nil || !px.Addr().Is4() || !py.Addr().Is4() {
		return netip.Prefix{}, false, fmt.Errorf("want IPv4 addresses with a prefix length, like 10.0.0.1/30")
	}
	if px.Masked() != py.Masked() {
		return netip.Prefix{}, false, fmt.Errorf("not on one subnet")
	}
	subnet := px.Masked()
	first, ok1 := ipam.Host(subnet, 1)
	second, ok2 := ipam.Host(subnet, 2)
	if !ok1 || !ok2 {
		return netip.Prefix{}, false, fmt.Errorf("subnet %s is too small for a link", subnet)
	}
	got := []netip.Addr{px.Addr(), py.Addr()}
	sorted := append([]netip.Addr(nil), got...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Less(sorted[j]) })
	if sorted[0] != first || sorted[1] != second {
		return netip.Prefix{}, false, fmt.Errorf("leolab gives a link's endpoints the first and second host of its subnet (%s and %s)", first, second)
	}
	return subnet, got[0] != first, nil
}
