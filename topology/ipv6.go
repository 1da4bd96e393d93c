package topology

import (
	"fmt"
	"net/netip"
	"strings"

	"leolab/ipam"
)

// IPv6 (issue 21): the same two stages as IPv4. A bridge or link carries
// IPv6 when it has a subnet6, written or (with the lab-wide ipv6: true)
// allocated from ipv6_pool; subnet6: none keeps it IPv4-only. Interfaces
// on an IPv6 bridge get the next free address from ::2 unless ipv6: none
// or a static ipv6; link ends get ::1 and ::2 (::0 and ::1 of a /127).

// State of one bridge, interface or link, beside the IPv4 fields.
type (
	bridge6 struct {
		static bool // subnet6 written in the file
		none   bool // subnet6: none
		hosts  *ipam.Hosts6
	}
	iface6 struct {
		addr   netip.Prefix
		none   bool       // ipv6: none
		static netip.Addr // ipv6 written in the file
		bits   int        // its prefix length, -1 when written without one
	}
	link6 struct {
		static bool
		none   bool // subnet6: none
	}
)

// checkPool6 reads ipv6_pool; it is used only with ipv6: true.
func (r *resolver) checkPool6() *ipam.Pool6 {
	f := r.raw
	prefix := ipam.DefaultPool6
	if f.pool6.set {
		p, err := netip.ParsePrefix(f.pool6.v)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
			r.errAt(f.pool6.pos, "ipv6_pool %q is not an IPv6 prefix like fd00:1::/48", f.pool6.v)
			return nil
		}
		prefix = p
	}
	pool, err := ipam.NewPool6(prefix)
	if err != nil {
		r.errAt(f.pool6.pos, "ipv6_pool: %v", err)
		return nil
	}
	if f.pool6.set && !f.ipv6.v {
		r.errAt(f.pool6.pos, "ipv6_pool is used only with ipv6: true (automatic IPv6 subnets)")
		return nil
	}
	if !f.ipv6.v {
		return nil
	}
	r.plan.IPv6, r.plan.Pool6 = true, prefix
	return pool
}

// parseSubnet6 reads a subnet6 of a bridge or link: canonical IPv6,
// unicast, /8 up to /126 (bridges: the gateway and one node) or /127
// (links).
func parseSubnet6(s string, longest int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("subnet6 %q is not an IPv6 prefix like fd00:1::/64 or none", s)
	}
	a := p.Addr()
	switch {
	case !a.Is6() || a.Is4In6():
		return netip.Prefix{}, fmt.Errorf("subnet6 %s is not IPv6", s)
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("subnet6 %s has host bits set (did you mean %s?)", s, p.Masked())
	case p.Bits() > longest:
		return netip.Prefix{}, fmt.Errorf("subnet6 %s is too small: it needs to be /%d or larger", s, longest)
	case p.Bits() < 8:
		return netip.Prefix{}, fmt.Errorf("subnet6 %s is too large: it needs to be /8 or smaller", s)
	case a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsLoopback() || a.IsUnspecified():
		return netip.Prefix{}, fmt.Errorf("subnet6 %s is not a unicast range (link-local addresses are automatic)", s)
	}
	return p, nil
}

// parseAddr6 reads a static interface IPv6 address: ADDR/LEN or ADDR
// (bits -1: the length is that of the subnet).
func parseAddr6(s string) (netip.Addr, int, error) {
	bad := fmt.Errorf("ipv6 %q is not an IPv6 address like fd00:1::10/64 or none", s)
	a, bits := netip.Addr{}, -1
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, 0, bad
		}
		a, bits = p.Addr(), p.Bits()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}, 0, bad
		}
	}
	if !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return netip.Addr{}, 0, bad
	}
	return a, bits, nil
}

// bridgeSettings6 reads a bridge's subnet6.
func (r *resolver) bridgeSettings6(st *bridgeState) {
	r.setting6(st.raw.subnet6, &st.v6.none, func(v string) error {
		p, err := parseSubnet6(v, 126)
		if err == nil {
			st.out.Subnet6, st.v6.static = p, true
		}
		return err
	})
}

// portSettings6 reads a bridge port's ipv6.
func (r *resolver) portSettings6(ifc *ifaceState) {
	r.setting6(ifc.raw.ipv6, &ifc.v6.none, func(v string) error {
		a, bits, err := parseAddr6(v)
		if err == nil {
			ifc.v6.static, ifc.v6.bits = a, bits
		}
		return err
	})
}

// linkSettings6 reads a link's subnet6.
func (r *resolver) linkSettings6(l *linkState) {
	r.setting6(l.raw.subnet6, &l.v6.none, func(v string) error {
		p, err := parseSubnet6(v, 127)
		if err == nil {
			l.out.Subnet6, l.v6.static = p, true
		}
		return err
	})
}

// setting6 reads an ipv6 or subnet6 value: unset does nothing; "none", or
// a value parse refuses (reported; no automatic one either), sets *none.
func (r *resolver) setting6(v sval, none *bool, parse func(string) error) {
	if !v.set {
		return
	}
	if v.v == "none" {
		*none = true
		return
	}
	if err := parse(v.v); err != nil {
		r.errAt(v.pos, "%v", err)
		*none = true
	}
}

// reserveSubnets6 takes this lab's static subnet6s in file order, each
// checked against the host, other labs and what came before.
func (r *resolver) reserveSubnets6() {
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b != nil && b.v6.static {
			r.takeStatic(b.out.Subnet6, rb.subnet6.pos, "bridge "+b.out.Name)
		}
	}
	for _, l := range r.links {
		if l.v6.static {
			r.takeStatic(l.out.Subnet6, l.raw.subnet6.pos, "link "+l.name())
		}
	}
}

// allocateSubnets6 gives automatic /64s to bridges, then links, in file
// order, when the lab has ipv6: true.
func (r *resolver) allocateSubnets6(pool *ipam.Pool6) {
	if pool == nil {
		return
	}
	r.allocateFamily(pool,
		func(b *bridgeState, rb *rawBridge) *netip.Prefix {
			if b.v6.static || b.v6.none {
				return nil
			}
			return &b.out.Subnet6
		},
		func(l *linkState) *netip.Prefix {
			if l.v6.static || l.v6.none {
				return nil
			}
			return &l.out.Subnet6
		}, nil)
}

// assignAddresses6: per bridge ::1 for the host side, then static
// addresses, then automatic ones from ::2; link ends the first and second
// address of their subnet6.
func (r *resolver) assignAddresses6() {
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b == nil || !b.out.Subnet6.IsValid() {
			continue
		}
		b.v6.hosts = ipam.NewHosts6(b.out.Subnet6)
		if b.gateway {
			b.out.Gateway6 = ipam.Gateway6(b.out.Subnet6)
			_ = b.v6.hosts.Reserve(b.out.Gateway6, "the gateway of bridge "+b.out.Name)
		}
	}
	for _, n := range r.order {
		for _, ifc := range n.ifaces {
			if ifc.bridge != nil && ifc.v6.static.IsValid() {
				r.reserveStatic6(n, ifc)
			}
		}
	}
	r.keepAddresses6()
	for _, n := range r.order {
		for _, ifc := range n.ifaces {
			b := ifc.bridge
			if b == nil || ifc.v6.static.IsValid() || ifc.v6.addr.IsValid() || ifc.v6.none || b.v6.hosts == nil {
				continue
			}
			a, err := b.v6.hosts.Next(n.out.Name + ":" + ifc.name)
			if err != nil {
				r.errAt(ifc.raw.name.pos, "%v", err)
				continue
			}
			ifc.v6.addr = netip.PrefixFrom(a, b.out.Subnet6.Bits())
		}
	}
	for _, l := range r.links {
		if p := l.out.Subnet6; p.IsValid() {
			a, b := ipam.LinkHosts6(p)
			l.ends[0].v6.addr = netip.PrefixFrom(a, p.Bits())
			l.ends[1].v6.addr = netip.PrefixFrom(b, p.Bits())
			r.keepLinkEnds6(l)
		}
	}
}

func (r *resolver) reserveStatic6(n *nodeState, ifc *ifaceState) {
	b := ifc.bridge
	at := ifc.raw.ipv6.pos
	owner := n.out.Name + ":" + ifc.name
	if b.v6.hosts == nil {
		switch {
		case b.raw.subnet6.v == "none":
			r.errAt(at, "ipv6 of %s: bridge %s has subnet6: none", owner, b.out.Name)
		case !b.v6.none: // else its subnet6 is invalid, reported already
			r.errAt(at, "ipv6 of %s: bridge %s has no IPv6 subnet (give it a subnet6, or set ipv6: true at the top of the file)", owner, b.out.Name)
		}
		return
	}
	subnet := b.out.Subnet6
	if ifc.v6.bits >= 0 && ifc.v6.bits != subnet.Bits() {
		r.errAt(at, "ipv6 %s/%d of %s must have the prefix length of bridge %s (%s)", ifc.v6.static, ifc.v6.bits, owner, b.out.Name, subnet)
		return
	}
	if err := b.v6.hosts.Reserve(ifc.v6.static, owner); err != nil {
		r.errAt(at, "ipv6 of %s on bridge %s: %v", owner, b.out.Name, err)
		return
	}
	ifc.v6.addr = netip.PrefixFrom(ifc.v6.static, subnet.Bits())
}

// hostPrefixUsable says whether a host route's destination takes part in
// overlap checks: not a default route, loopback, link-local or multicast.
func hostPrefixUsable(p netip.Prefix) bool {
	if !p.IsValid() || p.Bits() == 0 || p.Addr().Is4In6() {
		return false
	}
	if p.Addr().Is4() {
		return true
	}
	a := p.Addr()
	return !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsMulticast()
}

var defaultRoute6 = netip.PrefixFrom(netip.IPv6Unspecified(), 0)

// natGateway6 is the ::1 of the node's only nat bridge with IPv6, if it has
// an IPv6 address on exactly one.
func natGateway6(n *nodeState) (netip.Addr, bool) {
	return natGatewayOf(n, func(ifc *ifaceState) bool { return ifc.v6.addr.IsValid() },
		func(b *bridgeState) netip.Addr { return b.out.Gateway6 })
}

// resolveVia6 turns a gateway6 or an IPv6 route's via into an address: an
// IPv6 address on an IPv6 subnet the node is attached to, a node name (that
// node's IPv6 address on the first IPv6 subnet both share) or a bridge name
// (its ::1).
func (r *resolver) resolveVia6(n *nodeState, v sval, key string) (netip.Addr, bool) {
	return r.resolveViaIn(via6, n, v, key)
}

func (r *resolver) viaAddr6(n *nodeState, v sval, key string, a netip.Addr) (netip.Addr, bool) {
	name := n.out.Name
	switch {
	case !a.Is6() || a.Is4In6():
		r.errAt(v.pos, "%s %s is not IPv6 (an IPv6 route needs an IPv6 next hop)", key, a)
		return netip.Addr{}, false
	case a.IsLinkLocalUnicast() || a.Zone() != "":
		r.errAt(v.pos, "%s %s is link-local: write a node name or its address on the shared subnet6", key, a)
		return netip.Addr{}, false
	}
	var subnets []string
	for _, ifc := range n.ifaces {
		p := ifc.v6.addr
		if !p.IsValid() {
			continue
		}
		if !p.Contains(a) {
			subnets = append(subnets, p.Masked().String())
			continue
		}
		if a == p.Addr() {
			r.errAt(v.pos, "%s %s is %s's own address", key, a, name)
		} else if why := ipam.Reserved6(p, a); why != "" {
			r.errAt(v.pos, "%s %s is not a host address: %s", key, a, why)
		} else {
			return a, true
		}
		return netip.Addr{}, false
	}
	if len(subnets) == 0 {
		r.errAt(v.pos, "%s %s is not reachable: %s has no IPv6 address", key, a, name)
	} else {
		if len(subnets) > 4 {
			subnets = append(subnets[:4], "…")
		}
		r.errAt(v.pos, "%s %s is not on an IPv6 subnet %s is attached to (%s)", key, a, name, strings.Join(subnets, ", "))
	}
	return netip.Addr{}, false
}
