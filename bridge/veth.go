package bridge

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"leolab/topology"
)

// AddPort connects interface ifc of the node in ns to bridge b: a veth pair
// whose host end ifc.HostDevice is enslaved to b.Device and whose node end is
// created directly inside the node's namespace as ifc.Name with ifc.MAC,
// then addresses, aliases, MTU, netem, no IPv6 autoconfiguration (on both
// ends) and up. On failure the pair is deleted again.
// Equivalent to: ip link add HOSTDEV mtu M master BR type veth peer name
// IFACE address MAC mtu M netns NODE; ip -n NODE addr add A dev IFACE;
// … addrgenmode none up
func (h *Host) AddPort(ns *NodeNS, b topology.Bridge, ifc topology.Interface) (retErr error) {
	if err := ns.open(); err != nil {
		return err
	}
	br, err := h.handle.LinkByName(b.Device)
	if err != nil {
		return fmt.Errorf("port %s: find bridge %s: %w", ifc.Alias, b.Device, err)
	}
	mac, err := parseMAC(ifc.MAC)
	if err != nil {
		return fmt.Errorf("port %s: %w", ifc.Alias, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = ifc.HostDevice
	attrs.MTU = ifc.MTU
	attrs.MasterIndex = br.Attrs().Index
	veth := &netlink.Veth{
		LinkAttrs: attrs,
		PeerName:  ifc.Name,
		// MAC and namespace are part of the create request, so the node end
		// never exists in the host namespace or with a random MAC.
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsFd(int(ns.ns)),
		PeerMTU:          uint32(max(ifc.MTU, 0)),
	}
	if err := h.handle.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s for %s: %w", ifc.HostDevice, ifc.Alias, err)
	}
	defer func() {
		if retErr != nil {
			// Deleting one end removes the pair, node end included.
			_ = deleteLinkByName(h.handle, ifc.HostDevice)
		}
	}()
	if err := configureEnd(ns.handle, ifc.Name, ifc); err != nil {
		return err
	}
	host, err := h.handle.LinkByName(ifc.HostDevice)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", ifc.HostDevice, err)
	}
	if err := h.handle.LinkSetAlias(host, ifc.Alias); err != nil {
		return fmt.Errorf("set alias of %s: %w", ifc.HostDevice, err)
	}
	if ifc.Netem != nil {
		if err := applyNetem(h.handle, host, ifc.Netem); err != nil {
			return fmt.Errorf("netem on %s: %w", ifc.HostDevice, err)
		}
	}
	if err := noAutoIPv6(h.handle, host); err != nil {
		return fmt.Errorf("%s: %w", ifc.HostDevice, err)
	}
	if err := h.handle.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring up %s: %w", ifc.HostDevice, err)
	}
	return h.startQuiet(b)
}

// AddLink creates the point-to-point veth between ia in a's namespace and
// ib in b's namespace in a single request (the peer is placed in b's
// namespace by the kernel, so nothing ever exists in the host namespace),
// then sets aliases, addresses, netem, no IPv6 autoconfiguration and up on
// both ends. The interfaces' own Netem wins over l.Netem. On failure the
// pair is deleted again.
// Equivalent to: ip -n A link add IA address MA mtu M type veth peer name IB
// address MB mtu M netns B; … addr add …; … addrgenmode none up
func AddLink(a, b *NodeNS, l topology.Link, ia, ib topology.Interface) (retErr error) {
	if err := a.open(); err != nil {
		return err
	}
	if err := b.open(); err != nil {
		return err
	}
	macA, err := parseMAC(ia.MAC)
	if err != nil {
		return fmt.Errorf("link %s: %w", ia.Alias, err)
	}
	macB, err := parseMAC(ib.MAC)
	if err != nil {
		return fmt.Errorf("link %s: %w", ib.Alias, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = ia.Name
	attrs.MTU = linkMTU(l, ia)
	attrs.HardwareAddr = macA
	veth := &netlink.Veth{
		LinkAttrs:        attrs,
		PeerName:         ib.Name,
		PeerHardwareAddr: macB,
		PeerNamespace:    netlink.NsFd(int(b.ns)),
		PeerMTU:          uint32(linkMTU(l, ib)),
	}
	if err := a.handle.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s <-> %s: %w", ia.Alias, ib.Alias, err)
	}
	defer func() {
		if retErr != nil {
			_ = deleteLinkByName(a.handle, ia.Name)
		}
	}()
	for _, end := range []struct {
		ns  *NodeNS
		ifc topology.Interface
	}{{a, ia}, {b, ib}} {
		ifc := end.ifc
		if ifc.Netem == nil {
			ifc.Netem = l.Netem
		}
		if err := configureEnd(end.ns.handle, ifc.Name, ifc); err != nil {
			return err
		}
	}
	return nil
}

func linkMTU(l topology.Link, ifc topology.Interface) int {
	if ifc.MTU > 0 {
		return ifc.MTU
	}
	return max(l.MTU, 0)
}

// configureEnd gives the node-side interface name its alias, addresses
// (IPv6 ones with its link-local, see addIPv6) and netem and brings it up. The address goes on before up so the connected
// route appears together with the link.
func configureEnd(h *netlink.Handle, name string, ifc topology.Interface) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", ifc.Alias, err)
	}
	if ifc.Alias != "" {
		if err := h.LinkSetAlias(link, ifc.Alias); err != nil {
			return fmt.Errorf("set alias of %s: %w", ifc.Alias, err)
		}
	}
	if ifc.IPv4.IsValid() {
		addr := prefixAddr(ifc.IPv4.Addr(), ifc.IPv4.Bits())
		if err := h.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add address %s to %s: %w", ifc.IPv4, ifc.Alias, err)
		}
	}
	if ifc.IPv6.IsValid() {
		if err := addIPv6(h, link, ifc.IPv6.Addr(), ifc.IPv6.Bits()); err != nil {
			return fmt.Errorf("ipv6 of %s: %w", ifc.Alias, err)
		}
	}
	if ifc.Netem != nil {
		if err := applyNetem(h, link, ifc.Netem); err != nil {
			return fmt.Errorf("netem on %s: %w", ifc.Alias, err)
		}
	}
	if err := noAutoIPv6(h, link); err != nil {
		return fmt.Errorf("%s: %w", ifc.Alias, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up %s: %w", ifc.Alias, err)
	}
	return nil
}

// noAutoIPv6 sets link's IPv6 address generation mode to none before it
// comes up, so it gets no automatic link-local address and sends no IPv6
// chatter (duplicate address detection, MLD reports, router
// solicitations). leolab labs are IPv4: on a bridge every such multicast
// frame is flooded to every port and parsed by every node's IPv6 stack, so
// each new node cost O(ports), and a 1000-port lab spent most of its
// deploy delivering them. IPv6 itself stays enabled: addresses added by
// hand work, and a node's sysctl net.ipv6.conf.IFACE.addr_gen_mode=0
// brings the link-local address back. A kernel without IPv6 has nothing to
// turn off.
// Equivalent to: ip link set DEV addrgenmode none
func noAutoIPv6(h *netlink.Handle, link netlink.Link) error {
	err := h.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE)
	if err != nil && !errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("ipv6 addrgenmode none: %w", err)
	}
	return nil
}

func parseMAC(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("bad mac %q: %w", s, err)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("bad mac %q: not 6 bytes", s)
	}
	return mac, nil
}

func deleteLinkByName(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
