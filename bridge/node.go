package bridge

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"leolab/topology"
)

// SetupNode brings up lo and installs the node's static routes (To
// 0.0.0.0/0 is the default route). Call it after all of the node's
// interfaces exist: a route's gateway must be on a connected subnet. The
// node's sysctls are the node runtime's: its init writes them itself.
// Equivalent to: ip link set lo up; ip route replace TO via VIA
func SetupNode(ns *NodeNS, n topology.Node) error {
	if err := ns.open(); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	lo, err := ns.handle.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("node %s: find lo: %w", n.Name, err)
	}
	if err := ns.handle.LinkSetUp(lo); err != nil {
		return fmt.Errorf("node %s: bring up lo: %w", n.Name, err)
	}
	for _, r := range n.Routes {
		if err := ns.handle.RouteReplace(toRoute(r)); err != nil {
			return fmt.Errorf("node %s: route %s via %s: %w", n.Name, r.To, r.Via, err)
		}
	}
	return nil
}

func toRoute(r topology.Route) *netlink.Route {
	route := &netlink.Route{Gw: net.IP(r.Via.AsSlice())}
	if r.To.Bits() > 0 {
		route.Dst = prefixAddr(r.To.Masked().Addr(), r.To.Bits()).IPNet
	}
	return route
}
