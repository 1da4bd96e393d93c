package topology

import (
	"net/netip"
	"strings"

	"leolab/ipam"
)

var defaultRoute = netip.PrefixFrom(netip.IPv4Unspecified(), 0)

// resolveRoutes decides a node's routes: the default routes from gateway
// and gateway6 (or, failing that, via the .1 or ::1 of its only nat bridge,
// SPEC §3), then routes in file order, each via an address of its family.
func (r *resolver) resolveRoutes(n *nodeState) {
	rn := n.raw
	seen := map[netip.Prefix]int{}
	if rn.gateway.set {
		if via, ok := r.resolveVia(n, rn.gateway, "gateway"); ok {
			n.out.Routes = append(n.out.Routes, Route{To: defaultRoute, Via: via})
			seen[defaultRoute] = rn.gateway.pos.line
		}
	}
	if rn.gateway6.set {
		if via, ok := r.resolveVia6(n, rn.gateway6, "gateway6"); ok {
			n.out.Routes = append(n.out.Routes, Route{To: defaultRoute6, Via: via})
			seen[defaultRoute6] = rn.gateway6.pos.line
		}
	}
	for _, rr := range rn.routes {
		if !rr.to.set || !rr.via.set {
			continue // reported while decoding
		}
		to, err := parseRouteTo(rr.to.v)
		if err != nil {
			r.errAt(rr.to.pos, "%v", err)
			continue
		}
		if line, dup := seen[to]; dup {
			r.errAt(rr.to.pos, "route to %s is already set at line %d", rr.to.v, line)
			continue
		}
		seen[to] = rr.to.pos.line
		resolve := r.resolveVia
		if to.Addr().Is6() {
			resolve = r.resolveVia6
		}
		if via, ok := resolve(n, rr.via, "via"); ok {
			n.out.Routes = append(n.out.Routes, Route{To: to, Via: via})
		}
	}
	if _, has := seen[defaultRoute6]; !has {
		if via, ok := natGateway6(n); ok {
			n.out.Routes = append([]Route{{To: defaultRoute6, Via: via}}, n.out.Routes...)
		}
	}
	if _, has := seen[defaultRoute]; !has {
		if via, ok := natGateway(n); ok {
			n.out.Routes = append([]Route{{To: defaultRoute, Via: via}}, n.out.Routes...)
		}
	}
}

// natGateway is the .1 of the node's only nat bridge, if it has exactly one
// nat bridge on which it has an address.
func natGateway(n *nodeState) (netip.Addr, bool) {
	return natGatewayOf(n, func(ifc *ifaceState) bool { return ifc.addr.IsValid() },
		func(b *bridgeState) netip.Addr { return b.out.Gateway })
}

// natGatewayOf is the gateway (gw) of the node's only nat bridge that has
// one and on which the node has an address (addressed), for either family.
func natGatewayOf(n *nodeState, addressed func(*ifaceState) bool, gw func(*bridgeState) netip.Addr) (netip.Addr, bool) {
	var found *bridgeState
	for _, ifc := range n.ifaces {
		b := ifc.bridge
		if b == nil || !b.out.NAT || !addressed(ifc) || !gw(b).IsValid() || b == found {
			continue
		}
		if found != nil {
			return netip.Addr{}, false
		}
		found = b
	}
	if found == nil {
		return netip.Addr{}, false
	}
	return gw(found), true
}

// viaFamily is what differs between resolving an IPv4 next hop and an IPv6
// one: which address of an interface and which gateway of a bridge count,
// how an address literal is checked, and the words of the messages.
type viaFamily struct {
	addr      func(*ifaceState) netip.Prefix
	gateway   func(*bridgeState) netip.Addr
	viaAddr   func(r *resolver, n *nodeState, v sval, key string, a netip.Addr) (netip.Addr, bool)
	ip        string // "IPv4" or "IPv6"
	subnet    string // "subnet" or "IPv6 subnet"
	address   string // "address" or "IPv6 address"
	noGateway string // why a bridge has none
}

var (
	via4 = viaFamily{
		addr:    func(ifc *ifaceState) netip.Prefix { return ifc.addr },
		gateway: func(b *bridgeState) netip.Addr { return b.out.Gateway },
		viaAddr: (*resolver).viaAddr,
		ip:      "IPv4", subnet: "subnet", address: "address",
		noGateway: "has no .1 (gateway: false)",
	}
	via6 = viaFamily{
		addr:    func(ifc *ifaceState) netip.Prefix { return ifc.v6.addr },
		gateway: func(b *bridgeState) netip.Addr { return b.out.Gateway6 },
		viaAddr: (*resolver).viaAddr6,
		ip:      "IPv6", subnet: "IPv6 subnet", address: "IPv6 address",
		noGateway: "has no IPv6 gateway (no subnet6, or gateway: false)",
	}
)

// resolveVia turns a gateway or via value into an address: an IP on a
// subnet the node is attached to, a node name (that node's address on the
// first subnet both share) or a bridge name (its .1).
func (r *resolver) resolveVia(n *nodeState, v sval, key string) (netip.Addr, bool) {
	return r.resolveViaIn(via4, n, v, key)
}

// resolveViaIn is resolveVia (or resolveVia6) for family f.
func (r *resolver) resolveViaIn(f viaFamily, n *nodeState, v sval, key string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(v.v); err == nil {
		return f.viaAddr(r, n, v, key, a)
	}
	if other := r.nodes[v.v]; other != nil {
		return r.viaNode(f, n, other, v, key)
	}
	if b := r.bridges[v.v]; b != nil {
		return r.viaBridge(f, n, v, key, b)
	}
	if f.ip == "IPv6" || nodeNameRE().MatchString(v.v) {
		r.errAt(v.pos, "%s %q is not an %s address, a node or a bridge", key, v.v, f.ip)
	} else {
		r.errAt(v.pos, "%s %q is not an %s address", key, v.v, f.ip)
	}
	return netip.Addr{}, false
}

func (r *resolver) viaAddr(n *nodeState, v sval, key string, a netip.Addr) (netip.Addr, bool) {
	name := n.out.Name
	if !a.Is4() {
		r.errAt(v.pos, "%s %s is not IPv4 (an IPv4 route needs an IPv4 next hop; IPv6 default routes are gateway6)", key, a)
		return netip.Addr{}, false
	}
	for _, ifc := range n.ifaces {
		p := ifc.addr
		if !p.IsValid() || !p.Contains(a) {
			continue
		}
		switch a {
		case p.Addr():
			r.errAt(v.pos, "%s %s is %s's own address", key, a, name)
		case ipam.Network(p), ipam.Broadcast(p):
			r.errAt(v.pos, "%s %s is not a host address of %s", key, a, p.Masked())
		default:
			return a, true
		}
		return netip.Addr{}, false
	}
	var subnets []string
	for _, ifc := range n.ifaces {
		if ifc.addr.IsValid() {
			if len(subnets) == 4 {
				subnets = append(subnets, "…")
				break
			}
			subnets = append(subnets, ifc.addr.Masked().String())
		}
	}
	if len(subnets) == 0 {
		r.errAt(v.pos, "%s %s is not reachable: %s has no address", key, a, name)
	} else {
		r.errAt(v.pos, "%s %s is not on a subnet %s is attached to (%s)", key, a, name, strings.Join(subnets, ", "))
	}
	return netip.Addr{}, false
}

// viaNode is other's address (of family f) on the first subnet it shares
// with n.
func (r *resolver) viaNode(f viaFamily, n, other *nodeState, v sval, key string) (netip.Addr, bool) {
	if other == n {
		r.errAt(v.pos, "%s %s is the node itself", key, v.v)
		return netip.Addr{}, false
	}
	theirs := map[netip.Prefix]netip.Addr{}
	for i := len(other.ifaces) - 1; i >= 0; i-- { // backwards: the first one wins
		if p := f.addr(other.ifaces[i]); p.IsValid() {
			theirs[p.Masked()] = p.Addr()
		}
	}
	for _, mine := range n.ifaces {
		if a, ok := theirs[f.addr(mine).Masked()]; ok && f.addr(mine).IsValid() {
			return a, true
		}
	}
	r.errAt(v.pos, "%s %s: nodes %s and %s share no %s on which both have an address", key, v.v, n.out.Name, other.out.Name, f.subnet)
	return netip.Addr{}, false
}

// viaBridge is b's gateway (of family f), if n has an address on b.
func (r *resolver) viaBridge(f viaFamily, n *nodeState, v sval, key string, b *bridgeState) (netip.Addr, bool) {
	if !f.gateway(b).IsValid() {
		r.errAt(v.pos, "%s %s: bridge %s %s", key, v.v, b.out.Name, f.noGateway)
		return netip.Addr{}, false
	}
	for _, ifc := range n.ifaces {
		if ifc.bridge == b && f.addr(ifc).IsValid() {
			return f.gateway(b), true
		}
	}
	r.errAt(v.pos, "%s %s: node %s has no %s on bridge %s", key, v.v, n.out.Name, f.address, b.out.Name)
	return netip.Addr{}, false
}
