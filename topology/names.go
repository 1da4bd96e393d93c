package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
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
	// Previous is the plan of the running lab being changed (apply): its
	// subnets and addresses are kept where the file does not pin others
	// (sticky.go).
	Previous *Plan
}

// Prefixes of the host-side device names a lab creates; sweeping relies on
// them. Every name is prefix + LabTag + 6 hex digits: 14 bytes.
const (
	BridgeDevPrefix = "lb" // a lab bridge
	PortDevPrefix   = "lv" // host end of a bridge port's veth
	LinkDevPrefix   = "lp" // temporary name of a link's veth end
)

// LabTag is 6 lowercase hex characters of sha256(lab).
func LabTag(lab string) string { return hash6(lab) }

// AliasPrefix is the prefix of the alias of every host device of the lab.
func AliasPrefix(lab string) string { return "leolab:" + lab + ":" }

// NetnsName is the name `ip netns` shows for a node's network namespace.
func NetnsName(lab, node string) string { return lab + "-" + node }

// LabNetnsName is the private network namespace holding an isolated lab's
// bridges. Its "." can never appear in a lab or node name, so it can never
// equal a node's LAB-NODE, whatever the two labs are called.
func LabNetnsName(lab string) string { return "leolab." + lab }

// NATChain is the iptables nat chain holding the lab's masquerade rules.
func NATChain(lab string) string { return "LEOLAB-" + strings.ToUpper(LabTag(lab)) }

func hash6(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:3])
}

// namer hands out device names and MACs unique within one plan. On a
// collision it rehashes the same seed with a counter, so the result only
// depends on the plan's contents and order.
type namer struct {
	lab  string
	devs map[string]bool
	macs map[string]bool
	vnis map[uint32]bool
}

func newNamer(lab string) *namer {
	return &namer{lab: lab, devs: map[string]bool{}, macs: map[string]bool{}}
}

// device returns prefix + LabTag + 6 hex of sha256(seed), unique in the plan.
func (n *namer) device(prefix, seed string) string {
	for i := 0; ; i++ {
		s := seed
		if i > 0 {
			s = fmt.Sprintf("%s#%d", seed, i)
		}
		name := prefix + LabTag(n.lab) + hash6(s)
		if !n.devs[name] {
			n.devs[name] = true
			return name
		}
	}
}

// mac returns 02: + 5 bytes of sha256(seed): locally administered, unicast.
func (n *namer) mac(seed string) string {
	for i := 0; ; i++ {
		s := seed
		if i > 0 {
			s = fmt.Sprintf("%s#%d", seed, i)
		}
		sum := sha256.Sum256([]byte(s))
		m := fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4])
		if !n.macs[m] {
			n.macs[m] = true
			return m
		}
	}
}

func (n *namer) bridgeDevice(bridge string) string {
	return n.device(BridgeDevPrefix, n.lab+"/bridge/"+bridge)
}

func (n *namer) portDevice(node, iface string) string {
	return n.device(PortDevPrefix, n.lab+"/"+node+"/"+iface)
}

func (n *namer) linkDevice(node, iface string) string {
	return n.device(LinkDevPrefix, n.lab+"/link/"+node+"/"+iface)
}

func (n *namer) ifaceMAC(node, iface string) string { return n.mac(n.lab + "/" + node + "/" + iface) }

func bridgeAlias(lab, bridge string) string { return AliasPrefix(lab) + "bridge:" + bridge }

func ifaceAlias(lab, node, iface string) string { return AliasPrefix(lab) + node + ":" + iface }
