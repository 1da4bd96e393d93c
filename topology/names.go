package topology

import (
	"leolab/internal/hostnames"
)

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
