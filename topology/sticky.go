package topology

import (
	"net/netip"

	"leolab/ipam"
)

// Sticky addresses (leolab apply): when a file is resolved against the plan
// of its running lab (Options.Previous), what already exists keeps its
// address. File order alone would shift them: a node inserted early in the
// file would take the next free address of every node after it.
//
// The previous plan's subnets and interface addresses are soft pins: an
// address written in the file wins, then the pins are taken in file order
// (a pin that collides with a written address, or with a pin taken before
// it, is dropped and that interface is allocated like a new one), then new
// bridges, links and interfaces get free ones as usual.

// sticky is what the previous plan had, by name.
type sticky struct {
	bridges map[string]netip.Prefix // bridge -> subnet
	links   map[[2]Endpoint]netip.Prefix
	addrs   map[Endpoint]netip.Prefix // NODE:IFACE -> IPv4 address
	// The same for IPv6.
	bridges6 map[string]netip.Prefix
	links6   map[[2]Endpoint]netip.Prefix
	addrs6   map[Endpoint]netip.Prefix
}

func newSticky(prev *Plan) *sticky {
	s := &sticky{
		bridges: map[string]netip.Prefix{},
		links:   map[[2]Endpoint]netip.Prefix{},
		addrs:   map[Endpoint]netip.Prefix{},

		bridges6: map[string]netip.Prefix{},
		links6:   map[[2]Endpoint]netip.Prefix{},
		addrs6:   map[Endpoint]netip.Prefix{},
	}
	if prev == nil {
		return s
	}
	for _, b := range prev.Bridges {
		putValid(s.bridges, b.Name, b.Subnet)
		putValid(s.bridges6, b.Name, b.Subnet6)
	}
	for _, l := range prev.Links {
		putValid(s.links, linkKey(l.Endpoints), l.Subnet)
		putValid(s.links6, linkKey(l.Endpoints), l.Subnet6)
	}
	for _, n := range prev.Nodes {
		for _, ifc := range n.Interfaces {
			putValid(s.addrs, Endpoint{n.Name, ifc.Name}, ifc.IPv4)
			putValid(s.addrs6, Endpoint{n.Name, ifc.Name}, ifc.IPv6)
		}
	}
	return s
}

func putValid[K comparable](m map[K]netip.Prefix, k K, p netip.Prefix) {
	if p.IsValid() {
		m[k] = p
	}
}

// linkKey names a link whichever way round its endpoints are written.
func linkKey(e [2]Endpoint) [2]Endpoint {
	if e[1].String() < e[0].String() {
		e[0], e[1] = e[1], e[0]
	}
	return e
}

// keepSubnets gives automatic bridges and links the subnet they had, when
// it is still free, before any new subnet is allocated. Called after the
// file's static subnets and the host's routes are reserved.
func (r *resolver) keepSubnets() {
	if r.opts.Previous == nil {
		return
	}
	s := r.sticky()
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b == nil || b.static || rb.subnet.set {
			continue
		}
		if p, ok := s.bridges[b.out.Name]; ok && r.free(p) {
			b.out.Subnet = p
			r.take(p, "bridge "+b.out.Name)
		}
	}
	for _, l := range r.links {
		if l.static || l.bare {
			continue
		}
		if p, ok := s.links[linkKey(l.out.Endpoints)]; ok && r.free(p) {
			l.out.Subnet = p
			r.take(p, "link "+l.name())
		}
	}
	r.keepSubnets6(s)
}

// keepSubnets6 is keepSubnets for automatic IPv6 subnets (ipv6: true).
func (r *resolver) keepSubnets6(s *sticky) {
	if !r.plan.IPv6 {
		return
	}
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b == nil || b.v6.static || b.v6.none {
			continue
		}
		if p, ok := s.bridges6[b.out.Name]; ok && r.free(p) {
			b.out.Subnet6 = p
			r.take(p, "bridge "+b.out.Name)
		}
	}
	for _, l := range r.links {
		if l.v6.static || l.v6.none {
			continue
		}
		if p, ok := s.links6[linkKey(l.out.Endpoints)]; ok && r.free(p) {
			l.out.Subnet6 = p
			r.take(p, "link "+l.name())
		}
	}
}

func (r *resolver) free(p netip.Prefix) bool {
	_, taken := r.used.Overlapping(p)
	return !taken
}

func (r *resolver) sticky() *sticky {
	if r.kept == nil {
		r.kept = newSticky(r.opts.Previous)
	}
	return r.kept
}

// keepAddresses reserves each bridge port's previous address (in file
// order) when it lies in the port's bridge subnet and nobody holds it yet.
// Called after the file's static addresses are reserved, before automatic
// ones are handed out.
func (r *resolver) keepAddresses() {
	r.keepPortFamily(func(s *sticky) map[Endpoint]netip.Prefix { return s.addrs },
		func(ifc *ifaceState) (*netip.Prefix, netip.Prefix, hostReserver) {
			b := ifc.bridge
			if b == nil || ifc.static.IsValid() || ifc.none || b.hosts == nil {
				return nil, netip.Prefix{}, nil
			}
			return &ifc.addr, b.out.Subnet, b.hosts
		})
}

// hostReserver is what keepPortFamily asks of a bridge's address
// allocator of one family (ipam.Hosts or ipam.Hosts6).
type hostReserver interface {
	Reserve(a netip.Addr, owner string) error
}

// keepPortFamily is keepAddresses for one address family. kept picks the
// family's previous addresses; port returns the field an automatic address
// of the family goes into, the port's bridge subnet and its allocator, or
// a nil field when the port takes none (no bridge, static, none).
func (r *resolver) keepPortFamily(kept func(*sticky) map[Endpoint]netip.Prefix,
	port func(*ifaceState) (*netip.Prefix, netip.Prefix, hostReserver)) {
	if r.opts.Previous == nil {
		return
	}
	prev := kept(r.sticky())
	for _, n := range r.order {
		for _, ifc := range n.ifaces {
			slot, subnet, hosts := port(ifc)
			if slot == nil {
				continue
			}
			p, ok := prev[Endpoint{n.out.Name, ifc.name}]
			if !ok || p.Bits() != subnet.Bits() || !subnet.Contains(p.Addr()) {
				continue
			}
			if hosts.Reserve(p.Addr(), n.out.Name+":"+ifc.name) == nil {
				*slot = p
			}
		}
	}
}

// keepLinkEnds gives both ends of a link the addresses they had when the
// link kept its subnet (endpoints written the other way round included).
func (r *resolver) keepLinkEnds(l *linkState) {
	if r.opts.Previous == nil {
		return
	}
	s := r.sticky()
	var prev [2]netip.Prefix
	for i := range l.ends {
		prev[i] = s.addrs[l.out.Endpoints[i]]
		if prev[i] != netip.PrefixFrom(prev[i].Addr(), l.out.Subnet.Bits()) || !l.out.Subnet.Contains(prev[i].Addr()) {
			return
		}
	}
	if prev[0] == prev[1] || !usableHost(l.out.Subnet, prev[0].Addr()) || !usableHost(l.out.Subnet, prev[1].Addr()) {
		return
	}
	l.ends[0].addr, l.ends[1].addr = prev[0], prev[1]
}

// usableHost reports whether a is neither the network nor (except in a /31)
// the broadcast address of p.
func usableHost(p netip.Prefix, a netip.Addr) bool {
	if p.Bits() >= 31 {
		return true
	}
	return a != ipam.Network(p) && a != ipam.Broadcast(p)
}

// keepAddresses6 is keepAddresses for IPv6 bridge ports.
func (r *resolver) keepAddresses6() {
	r.keepPortFamily(func(s *sticky) map[Endpoint]netip.Prefix { return s.addrs6 },
		func(ifc *ifaceState) (*netip.Prefix, netip.Prefix, hostReserver) {
			b := ifc.bridge
			if b == nil || ifc.v6.static.IsValid() || ifc.v6.none || b.v6.hosts == nil {
				return nil, netip.Prefix{}, nil
			}
			return &ifc.v6.addr, b.out.Subnet6, b.v6.hosts
		})
}

// keepLinkEnds6 gives both ends of a link their previous IPv6 addresses
// when the link kept its subnet6 (endpoints written the other way round).
func (r *resolver) keepLinkEnds6(l *linkState) {
	if r.opts.Previous == nil {
		return
	}
	s := r.sticky()
	p := l.out.Subnet6
	a, b := s.addrs6[l.out.Endpoints[0]], s.addrs6[l.out.Endpoints[1]]
	x, y := ipam.LinkHosts6(p)
	pair := func(u, v netip.Prefix) bool { return u.Addr() == x && v.Addr() == y }
	if a.Bits() == p.Bits() && b.Bits() == p.Bits() && (pair(a, b) || pair(b, a)) {
		l.ends[0].v6.addr, l.ends[1].v6.addr = a, b
	}
}
