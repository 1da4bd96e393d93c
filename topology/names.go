package topology

import (
	"net/netip"

	"leolab/internal/hostnames"
)

// HostView reports what is already in use on the host; tests replace it.
type HostView interface {
	// UsedSubnets returns the IPv4 and IPv6 prefixes of host routes and of other
	// running labs (never this lab's own). A default route (/0) is ignored.
	UsedSubnets() ([]netip.Prefix, error)
}

// Options tune how a topology file is resolved.
type Options struct {
	Host           HostView   // nil = nothing in use
	RootfsOverride string     // deploy --rootfs: replaces every node's rootfs
	Isolated       bool       // deploy --isolated: nat: true is then an error and the host is not consulted
	Images         []ImageMap // deploy --image: registry images replaced by other rootfs
	Name           string     // deploy --name: replaces the lab's name, whatever the format
}

// namer hands out device names and MACs unique within one plan, all made
// by internal/hostnames. On a collision it asks for the next try of the
// same name, so the result only depends on the plan's contents and order.
type namer struct {
	lab  string
	devs map[string]bool
	macs map[string]bool
	vnis map[uint32]bool
}

func newNamer(lab string) *namer {
	return &namer{lab: lab, devs: map[string]bool{}, macs: map[string]bool{}}
}

// unique returns the first try of make not yet in used, and records it.
func unique(used map[string]bool, make func(try int) string) string {
	for i := 0; ; i++ {
		if name := make(i); !used[name] {
			used[name] = true
			return name
		}
	}
}

func (n *namer) bridgeDevice(bridge string) string {
	return unique(n.devs, func(i int) string { return hostnames.BridgeDevice(n.lab, bridge, i) })
}

func (n *namer) portDevice(node, iface string) string {
	return unique(n.devs, func(i int) string { return hostnames.PortDevice(n.lab, node, iface, i) })
}

func (n *namer) linkDevice(node, iface string) string {
	return unique(n.devs, func(i int) string { return hostnames.LinkDevice(n.lab, node, iface, i) })
}

func (n *namer) vxlanDevice(bridge string) string {
	return unique(n.devs, func(i int) string { return hostnames.VXLANDevice(n.lab, bridge, i) })
}

func (n *namer) ifaceMAC(node, iface string) string {
	return unique(n.macs, func(i int) string { return hostnames.IfaceMAC(n.lab, node, iface, i) })
}
