package topology

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"

	"leolab/internal/hostnames"
	"leolab/ipam"
)

// resolver turns a rawFile into a Plan, reporting every violation through
// its decoder. Invalid pieces are left out of the plan so that checking can
// go on and find the rest.
type resolver struct {
	*decoder
	dir   string
	opts  Options
	raw   *rawFile
	plan  *Plan
	names *namer

	bridges map[string]*bridgeState
	nodes   map[string]*nodeState
	order   []*nodeState // file order
	links   []*linkState
	used    ipam.Set
	usedBy  map[netip.Prefix]string // who holds a used prefix, for messages

	imageTargets []string // the resolved rootfs of each images: entry
	kept         *sticky  // the previous plan's subnets and addresses (sticky.go)
}

type bridgeState struct {
	raw     *rawBridge
	out     *Bridge
	hosts   *ipam.Hosts
	static  bool
	gateway bool // gateway: true (the default)
	v6      bridge6
}

type nodeState struct {
	raw    *rawNode // defaults applied
	out    *Node
	ifaces []*ifaceState
	used   map[string]pos // interface name -> where it was first used
}

type ifaceState struct {
	raw    *rawIface // nil for a link end
	name   string
	bridge *bridgeState
	link   *linkState
	end    int // which end of link
	addr   netip.Prefix
	none   bool       // ipv4: none
	static netip.Addr // ipv4 written in the file
	bits   int        // its prefix length, -1 when written without one
	v6     iface6
}

type linkState struct {
	raw    *rawLink
	out    *Link
	ends   [2]*ifaceState
	nodes  [2]*nodeState
	static bool
	bare   bool
	v6     link6
}

func (r *resolver) run() (*Plan, error) {
	r.plan = &Plan{Bridges: []Bridge{}, Nodes: []Node{}, Links: []Link{}, Isolated: r.opts.Isolated}
	r.bridges = map[string]*bridgeState{}
	r.nodes = map[string]*nodeState{}
	r.usedBy = map[netip.Prefix]string{}
	r.checkName()
	pool := r.checkPool()
	pool6 := r.checkPool6()
	r.names = newNamer(r.plan.Name)
	r.checkImages()
	r.checkHosts()
	for _, b := range r.raw.bridges {
		r.addBridge(b)
	}
	for _, n := range r.raw.nodes {
		r.addNode(n)
	}
	for _, l := range r.raw.links {
		r.addLink(l)
	}
	r.spanHosts()
	if err := r.reserveSubnets(); err != nil {
		return nil, err
	}
	r.reserveSubnets6()
	r.keepSubnets()
	if pool != nil {
		r.allocateSubnets(pool)
	}
	r.allocateSubnets6(pool6)
	r.assignAddresses()
	r.assignAddresses6()
	for _, n := range r.order {
		r.resolveRoutes(n)
	}
	r.finish()
	r.plan.Checks = resolveChecks(r.decoder, r.raw.checks, r.plan)
	return r.plan, nil
}

func (r *resolver) checkName() {
	n := r.raw.name
	if r.opts.Name != "" {
		if !labNameRE().MatchString(r.opts.Name) {
			r.errs = append(r.errs, &Error{File: r.file, Msg: fmt.Sprintf("--name %q must match ^[a-z][a-z0-9-]{0,19}$", r.opts.Name)})
			return
		}
		r.plan.Name = r.opts.Name
		return
	}
	switch {
	case !n.set:
		r.errAt(posOf(r.raw.body), "missing required key \"name\" (the lab name)")
	case n.pos == (pos{}):
		// of the wrong type: reported while decoding
	case !labNameRE().MatchString(n.v):
		r.errAt(n.pos, "lab name %q must match ^[a-z][a-z0-9-]{0,19}$", n.v)
	default:
		r.plan.Name = n.v
	}
}

func (r *resolver) checkPool() *ipam.Pool {
	prefix := ipam.DefaultPool
	if r.raw.pool.set {
		p, err := netip.ParsePrefix(r.raw.pool.v)
		if err != nil || !p.Addr().Is4() {
			r.errAt(r.raw.pool.pos, "ipv4_pool %q is not an IPv4 prefix like 172.20.0.0/16", r.raw.pool.v)
			return nil
		}
		prefix = p
	}
	pool, err := ipam.NewPool(prefix)
	if err != nil {
		r.errAt(r.raw.pool.pos, "ipv4_pool: %v", err)
		return nil
	}
	r.plan.Pool = prefix
	return pool
}

func (r *resolver) addBridge(rb *rawBridge) {
	if !bridgeNameRE().MatchString(rb.name.v) {
		r.errAt(rb.name.pos, "bridge name %q must match ^[A-Za-z][A-Za-z0-9-]{0,31}$", rb.name.v)
		return
	}
	b := &Bridge{Name: rb.name.v, NAT: rb.nat.v, MTU: defaultMTU}
	st := &bridgeState{raw: rb, out: b}
	if rb.subnet.set {
		p, err := parseSubnet(rb.subnet.v)
		if err != nil {
			r.errAt(rb.subnet.pos, "%v", err)
		} else {
			b.Subnet, st.static = p, true
		}
	}
	if rb.mtu.set {
		if err := checkMTU(rb.mtu.v); err != nil {
			r.errAt(rb.mtu.pos, "%v", err)
		} else {
			b.MTU = int(rb.mtu.v)
		}
	}
	st.gateway = !rb.gateway.set || rb.gateway.v
	gateway := st.gateway
	if rb.nat.v && r.opts.Isolated {
		r.errAt(rb.natKey, "bridge %s: nat is not available with --isolated", b.Name)
	} else if rb.nat.v && !gateway {
		r.errAt(rb.natKey, "bridge %s: nat needs gateway: true (the host routes the subnet)", b.Name)
	}
	r.bridgeSettings6(st)
	r.bridges[b.Name] = st
}

func (r *resolver) addNode(rn *rawNode) {
	name := rn.name
	switch {
	case !nodeNameRE().MatchString(name.v):
		r.errAt(name.pos, "node name %q must match ^[A-Za-z][A-Za-z0-9-]{0,62}$", name.v)
		return
	}
	n := &nodeState{raw: merge(r.raw.defaults, rn), used: map[string]pos{}}
	n.out = &Node{Name: name.v, Index: len(r.order)}
	r.nodes[name.v] = n
	r.order = append(r.order, n)
	r.nodeSettings(n)
	r.nodeHost(n)
	for _, ri := range n.raw.interfaces {
		r.addBridgePort(n, ri)
	}
}

func (r *resolver) addBridgePort(n *nodeState, ri *rawIface) {
	if !ifaceNameRE().MatchString(ri.name.v) {
		r.errAt(ri.name.pos, "interface name %q must match ^[A-Za-z][A-Za-z0-9._-]{0,14}$", ri.name.v)
		return
	}
	n.used[ri.name.v] = ri.name.pos
	ifc := &ifaceState{raw: ri, name: ri.name.v}
	switch {
	case !ri.bridge.set:
		r.errAt(ri.name.pos, "interface %s:%s needs a bridge (links are declared under links:)", n.out.Name, ri.name.v)
		return
	case r.bridges[ri.bridge.v] == nil:
		r.errAt(ri.bridge.pos, "interface %s:%s: unknown bridge %q", n.out.Name, ri.name.v, ri.bridge.v)
		return
	}
	ifc.bridge = r.bridges[ri.bridge.v]
	if ri.ipv4.set {
		if ri.ipv4.v == "none" {
			ifc.none = true
		} else if a, bits, err := parseAddr(ri.ipv4.v); err != nil {
			r.errAt(ri.ipv4.pos, "%v", err)
			ifc.none = true // no address, and no automatic one either
		} else {
			ifc.static, ifc.bits = a, bits
		}
	}
	r.portSettings6(ifc)
	n.ifaces = append(n.ifaces, ifc)
}

func (r *resolver) addLink(rl *rawLink) {
	l := &linkState{raw: rl, out: &Link{MTU: defaultMTU}}
	ok := true
	if len(rl.endpoints) != 2 {
		if rl.endsAt != (pos{}) && rl.endsOK {
			r.errAt(rl.endsAt, "a link has exactly 2 endpoints, not %d", len(rl.endpoints))
		}
		ok = false
	} else {
		for i, e := range rl.endpoints {
			ok = r.linkEnd(l, i, e) && ok
		}
	}
	if ok && l.nodes[0] == l.nodes[1] {
		r.errAt(rl.endsAt, "link connects node %s to itself", l.nodes[0].out.Name)
		ok = false
	}
	r.linkSettings(l)
	if !ok {
		return
	}
	for i, n := range l.nodes {
		ifc := &ifaceState{name: l.out.Endpoints[i].Iface, link: l, end: i}
		l.ends[i] = ifc
		n.ifaces = append(n.ifaces, ifc)
		n.used[ifc.name] = rl.endpoints[i].pos
	}
	r.links = append(r.links, l)
}

// linkEnd checks endpoint i ("NODE:IFACE") of a link.
func (r *resolver) linkEnd(l *linkState, i int, e sval) bool {
	node, iface, found := strings.Cut(e.v, ":")
	if !found || node == "" || iface == "" {
		r.errAt(e.pos, "link endpoint %q is not NODE:IFACE", e.v)
		return false
	}
	n := r.nodes[node]
	if n == nil {
		r.errAt(e.pos, "link endpoint %s: unknown node %q", e.v, node)
		return false
	}
	if !ifaceNameRE().MatchString(iface) {
		r.errAt(e.pos, "link endpoint %s: interface name %q must match ^[A-Za-z][A-Za-z0-9._-]{0,14}$", e.v, iface)
		return false
	}
	if first, dup := n.used[iface]; dup {
		r.errAt(e.pos, "interface %s is already used at line %d", e.v, first.line)
		return false
	}
	if i == 1 && l.nodes[0] == n && l.out.Endpoints[0].Iface == iface {
		r.errAt(e.pos, "interface %s is already used at line %d", e.v, l.raw.endpoints[0].pos.line)
		return false
	}
	l.nodes[i] = n
	l.out.Endpoints[i] = Endpoint{Node: node, Iface: iface}
	return true
}

func (r *resolver) linkSettings(l *linkState) {
	rl := l.raw
	if rl.ipv4.set {
		if rl.ipv4.v != "none" {
			r.errAt(rl.ipv4.pos, "link ipv4 can only be none (addresses come from the link subnet)")
		} else if rl.subnet.set {
			r.errAt(rl.ipv4.pos, "link has both a subnet and ipv4: none")
		} else {
			l.bare = true
		}
	}
	if rl.subnet.set {
		if p, err := parseSubnet(rl.subnet.v); err != nil {
			r.errAt(rl.subnet.pos, "%v", err)
			l.bare = true // keep checking without inventing a subnet
		} else {
			l.out.Subnet, l.static = p, true
		}
	}
	if rl.mtu.set {
		if err := checkMTU(rl.mtu.v); err != nil {
			r.errAt(rl.mtu.pos, "%v", err)
		} else {
			l.out.MTU = int(rl.mtu.v)
		}
	}
	if rl.netemSet {
		l.out.Netem = r.netem(rl.netem)
	}
	r.linkSettings6(l)
}

// linkName names a link in messages.
func (l *linkState) name() string {
	return l.out.Endpoints[0].String() + "-" + l.out.Endpoints[1].String()
}

// reserveSubnets marks what is in use before anything is allocated: the
// host's routes and other labs (unless isolated), then this lab's static
// subnets in file order, each checked against what came before.
func (r *resolver) reserveSubnets() error {
	if r.opts.Host != nil && !r.opts.Isolated {
		host, err := r.opts.Host.UsedSubnets()
		if err != nil {
			return fmt.Errorf("read subnets in use on the host: %w", err)
		}
		for _, p := range host {
			if hostPrefixUsable(p) {
				r.take(p.Masked(), "a route or another lab on the host")
			}
		}
	}
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b != nil && b.static {
			r.takeStatic(b.out.Subnet, rb.subnet.pos, "bridge "+b.out.Name)
		}
	}
	for _, l := range r.links {
		if l.static {
			r.takeStatic(l.out.Subnet, l.raw.subnet.pos, "link "+l.name())
		}
	}
	return nil
}

func (r *resolver) take(p netip.Prefix, who string) {
	r.used.Add(p)
	if _, ok := r.usedBy[p]; !ok {
		r.usedBy[p] = who
	}
}

func (r *resolver) takeStatic(p netip.Prefix, at pos, who string) {
	if q, taken := r.used.Overlapping(p); taken {
		r.errAt(at, "subnet %s of %s overlaps %s (%s)", p, who, q, r.usedBy[q])
	}
	r.take(p, who)
}

// allocateSubnets gives automatic subnets to bridges, then links, in file
// order (SPEC §3). A link whose subnet cannot be allocated is left bare.
func (r *resolver) allocateSubnets(pool *ipam.Pool) {
	r.allocateFamily(pool,
		func(b *bridgeState, rb *rawBridge) *netip.Prefix {
			if b.static || rb.subnet.set {
				return nil
			}
			return &b.out.Subnet
		},
		func(l *linkState) *netip.Prefix {
			if l.static || l.bare {
				return nil
			}
			return &l.out.Subnet
		},
		func(l *linkState) { l.bare = true })
}

// subnetPool is what allocateFamily asks of an address family's pool
// (ipam.Pool or ipam.Pool6).
type subnetPool interface {
	BridgeSubnet(used *ipam.Set, bridge string) (netip.Prefix, error)
	LinkSubnet(used *ipam.Set, link string) (netip.Prefix, error)
}

// allocateFamily gives automatic subnets of one address family to bridges,
// then links, in file order. bridgeSlot and linkSlot return the field an
// automatic subnet goes into, or nil when it needs none; linkFailed, when
// set, is told of a link whose subnet could not be allocated (the error
// is reported either way).
func (r *resolver) allocateFamily(pool subnetPool, bridgeSlot func(*bridgeState, *rawBridge) *netip.Prefix,
	linkSlot func(*linkState) *netip.Prefix, linkFailed func(*linkState)) {
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b == nil {
			continue
		}
		slot := bridgeSlot(b, rb)
		if slot == nil || slot.IsValid() { // none needed, or kept (sticky)
			continue
		}
		p, err := pool.BridgeSubnet(&r.used, b.out.Name)
		if err != nil {
			r.errAt(rb.name.pos, "%v", err)
			continue
		}
		*slot = p
		r.take(p, "bridge "+b.out.Name)
	}
	for _, l := range r.links {
		slot := linkSlot(l)
		if slot == nil || slot.IsValid() { // none needed, or kept (sticky)
			continue
		}
		p, err := pool.LinkSubnet(&r.used, l.name())
		if err != nil {
			r.errAt(l.raw.at, "%v", err)
			if linkFailed != nil {
				linkFailed(l)
			}
			continue
		}
		*slot = p
		r.take(p, "link "+l.name())
	}
}

// assignAddresses: per bridge the gateway .1, then static addresses (nodes
// and interfaces in file order), then automatic ones from .2; link ends get
// the first and second host of their subnet.
func (r *resolver) assignAddresses() {
	for _, b := range r.bridges {
		if !b.out.Subnet.IsValid() {
			continue
		}
		b.hosts = ipam.NewHosts(b.out.Subnet)
		if b.gateway {
			b.out.Gateway = ipam.Gateway(b.out.Subnet)
			_ = b.hosts.Reserve(b.out.Gateway, "the gateway of bridge "+b.out.Name)
		}
	}
	for _, n := range r.order {
		for _, ifc := range n.ifaces {
			if ifc.bridge != nil && ifc.static.IsValid() {
				r.reserveStatic(n, ifc)
			}
		}
	}
	r.keepAddresses()
	for _, n := range r.order {
		for _, ifc := range n.ifaces {
			if ifc.bridge != nil && !ifc.static.IsValid() && !ifc.addr.IsValid() && !ifc.none && ifc.bridge.hosts != nil {
				r.allocate(n, ifc)
			}
		}
	}
	for _, l := range r.links {
		if !l.out.Subnet.IsValid() {
			continue
		}
		for i, ifc := range l.ends {
			a, _ := ipam.Host(l.out.Subnet, i+1) // a /30 or larger always has two hosts
			ifc.addr = netip.PrefixFrom(a, l.out.Subnet.Bits())
		}
		r.keepLinkEnds(l)
	}
}

func (r *resolver) reserveStatic(n *nodeState, ifc *ifaceState) {
	b := ifc.bridge
	if b.hosts == nil {
		return // the bridge has no subnet; that is reported already
	}
	at := ifc.raw.ipv4.pos
	owner := n.out.Name + ":" + ifc.name
	subnet := b.out.Subnet
	if ifc.bits >= 0 && ifc.bits != subnet.Bits() {
		r.errAt(at, "ipv4 %s/%d of %s must have the prefix length of bridge %s (%s)", ifc.static, ifc.bits, owner, b.out.Name, subnet)
		return
	}
	if err := b.hosts.Reserve(ifc.static, owner); err != nil {
		r.errAt(at, "ipv4 of %s on bridge %s: %v", owner, b.out.Name, err)
		return
	}
	ifc.addr = netip.PrefixFrom(ifc.static, subnet.Bits())
}

func (r *resolver) allocate(n *nodeState, ifc *ifaceState) {
	b := ifc.bridge
	a, err := b.hosts.Next(n.out.Name + ":" + ifc.name)
	if err != nil {
		r.errAt(ifc.raw.name.pos, "%v", err)
		return
	}
	ifc.addr = netip.PrefixFrom(a, b.out.Subnet.Bits())
}

// finish builds the plan's bridges, nodes and links in file order, with
// device names, MACs and aliases.
func (r *resolver) finish() {
	lab := r.plan.Name
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b == nil {
			continue
		}
		b.out.Device = r.names.bridgeDevice(b.out.Name)
		b.out.Alias = hostnames.BridgeAlias(lab, b.out.Name)
		b.out.MAC = hostnames.BridgeMAC(b.out.Alias, "")
		r.plan.Bridges = append(r.plan.Bridges, *b.out)
	}
	linkIndex := map[*linkState]int{}
	for i, l := range r.links {
		linkIndex[l] = i
		r.plan.Links = append(r.plan.Links, *l.out)
	}
	for _, n := range r.order {
		n.out.Interfaces = []Interface{}
		for _, ifc := range n.ifaces {
			n.out.Interfaces = append(n.out.Interfaces, r.iface(n, ifc, linkIndex))
		}
		r.plan.Nodes = append(r.plan.Nodes, *n.out)
	}
}

func (r *resolver) iface(n *nodeState, ifc *ifaceState, linkIndex map[*linkState]int) Interface {
	node := n.out.Name
	out := Interface{
		Name:  ifc.name,
		Link:  -1,
		IPv4:  ifc.addr,
		IPv6:  ifc.v6.addr,
		MAC:   r.names.ifaceMAC(node, ifc.name),
		Alias: hostnames.IfaceAlias(r.plan.Name, node, ifc.name),
	}
	if ifc.bridge != nil {
		out.Bridge = ifc.bridge.out.Name
		out.MTU = ifc.bridge.out.MTU
		out.HostDevice = r.names.portDevice(node, ifc.name)
		return out
	}
	l := ifc.link
	out.Link = linkIndex[l]
	out.Peer = l.out.Endpoints[1-ifc.end].String()
	out.MTU = l.out.MTU
	if l.out.Netem != nil {
		netem := *l.out.Netem // each end its own copy: netem set changes one side
		out.Netem = &netem
	}
	out.HostDevice = r.names.linkDevice(node, ifc.name)
	return out
}

// absDir is the directory of the topology file, for relative paths.
func absDir(file string) (abs, dir string) {
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = filepath.Clean(file)
	}
	return abs, filepath.Dir(abs)
}

func sortedKV(list []kv) []kv {
	out := append([]kv(nil), list...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].key.v < out[j].key.v })
	return out
}
