package labs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/internal/nldump"
	"leolab/topology"
)

// hostView is the real topology.HostView: IPv4 and IPv6 routes on the host (so a lab
// never shadows a network the host already reaches), the subnets of the
// other running, non-isolated labs, and the host ids and node network
// namespace names other labs hold.
type hostView struct {
	others []*State // the other labs' states, read once by the caller
	claims []*Claim // every root's other labs, being created or running
	// own are the subnets of the lab being changed (apply): host routes
	// inside them (the bridge's subnet, its gateway's local and broadcast
	// routes) are its own bridges, not something in the way.
	own []netip.Prefix
}

func (h hostView) UsedSubnets() ([]netip.Prefix, error) {
	used, err := hostRoutes()
	if err != nil {
		return nil, err
	}
	used = slices.DeleteFunc(used, func(p netip.Prefix) bool {
		return slices.ContainsFunc(h.own, func(o netip.Prefix) bool { return o.Bits() <= p.Bits() && o.Overlaps(p) })
	})
	for _, st := range h.others {
		if st.Plan.Isolated {
			continue
		}
		used = append(used, st.Plan.Subnets()...)
	}
	return append(used, claimsSubnets(h.claims)...), nil
}

// UsedUIDs lists the id blocks of other labs: this root's states and every
// root's claims (a lab appears in both; overlaps are harmless).
func (h hostView) UsedUIDs() ([]topology.UIDBlock, error) {
	var used []topology.UIDBlock
	for _, st := range h.others {
		used = append(used, st.Plan.UIDs)
	}
	for _, c := range h.claims {
		used = append(used, topology.UIDBlock{Start: c.UIDStart, Count: c.UIDCount})
	}
	return used, nil
}

// UsedNetns maps the LAB-NODE netns names of this root's other labs to
// their lab; other roots' names are checked against their claims
// (checkHostNames).
func (h hostView) UsedNetns() (map[string]string, error) {
	taken := map[string]string{}
	for _, st := range h.others {
		for _, n := range st.Plan.Nodes {
			taken[hostnames.NodeNetns(st.Plan.Name, n.Name)] = st.Plan.Name
		}
	}
	return taken, nil
}

// hostRoutes lists the destinations of the host's IPv4 and IPv6 routes in
// every table, except default routes (they overlap everything by
// definition); topology leaves out link-local and multicast ones.
func hostRoutes() ([]netip.Prefix, error) {
	v4, err := hostRoutesOf(netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	v6, err := hostRoutesOf(netlink.FAMILY_V6)
	if errors.Is(err, unix.EAFNOSUPPORT) {
		return v4, nil // a kernel booted with ipv6.disable=1
	}
	if err != nil {
		return nil, err
	}
	return append(v4, v6...), nil
}

func hostRoutesOf(family int) ([]netip.Prefix, error) {
	routes, err := nldump.Retry(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(family, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		p, ok := netipPrefix(r.Dst.IP, r.Dst.Mask)
		if !ok || p.Bits() == 0 || p.Addr().IsLoopback() {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func netipPrefix(ip net.IP, mask net.IPMask) (netip.Prefix, bool) {
	ones, bits := mask.Size()
	if ip4 := ip.To4(); ip4 != nil && bits == 32 {
		addr, _ := netip.AddrFromSlice(ip4)
		return netip.PrefixFrom(addr, ones).Masked(), true
	}
	if len(ip) != net.IPv6len || bits != 128 {
		return netip.Prefix{}, false
	}
	addr, _ := netip.AddrFromSlice(ip)
	return netip.PrefixFrom(addr, ones).Masked(), true
}
