package bridge

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"leolab/internal/nsthread"
	"leolab/internal/sysctl"
	"leolab/topology"
)

// IPv6 on a dual-stack lab (issue 21). Every interface keeps address
// generation mode none (noAutoIPv6), so the kernel never makes a link-local
// address on its own and never runs duplicate address detection. An
// interface that carries IPv6 instead gets two addresses through netlink,
// both IFA_F_NODAD so they are usable at once: its global address and the
// link-local address that EUI-64 generation would have given it (from its
// fixed MAC, so stable across redeploys), which routing daemons need.
// Router solicitations, which a new link-local address would otherwise
// send to a multicast group a bridge floods to every port, again and
// again, are off in the node (router_solicitations 0 in the node's
// default device settings, set before its interfaces exist); router
// advertisements are still accepted, so a lab running radvd works.

// nodeIPv6Defaults are written in a node's namespace before its interfaces
// exist, so each of them inherits them: no router solicitations, and
// IPv6 addresses kept while an interface is down (link down/up). For the
// deploy only (see mldquiet.go), the node speaks MLDv1 and sends its
// unsolicited reports at once, not over 10 s: the node's release puts the
// kernel's defaults back (labs, ipv6ReleaseSysctls).
var nodeIPv6Defaults = []struct{ key, value string }{
	{"net.ipv6.conf.default.router_solicitations", "0"},
	{"net.ipv6.conf.default.keep_addr_on_down", "1"},
	{"net.ipv6.conf.all.force_mld_version", "1"},
	{"net.ipv6.conf.default.mldv1_unsolicited_report_interval", "0"},
}

// PrepareIPv6 sets the node's default IPv6 device settings; call it before
// the node's interfaces are created.
// Equivalent to: ip netns exec NODE sysctl -w
// net.ipv6.conf.default.router_solicitations=0
// net.ipv6.conf.default.keep_addr_on_down=1
// net.ipv6.conf.all.force_mld_version=1
// net.ipv6.conf.default.mldv1_unsolicited_report_interval=0
func PrepareIPv6(ns *NodeNS) error {
	if err := ns.open(); err != nil {
		return err
	}
	return nsthread.Do(ns.ns, func() error {
		for _, s := range nodeIPv6Defaults {
			if err := sysctl.Write(s.key, s.value); err != nil {
				return err
			}
		}
		return nil
	})
}

// addIPv6 gives link its global address a/bits and its EUI-64 link-local
// address, both without duplicate address detection.
// Equivalent to: ip addr add A/BITS dev DEV nodad;
// ip addr add fe80::EUI64/64 dev DEV nodad
func addIPv6(h *netlink.Handle, link netlink.Link, a netip.Addr, bits int) error {
	for _, addr := range []*netlink.Addr{prefixAddr(a, bits), prefixAddr(LinkLocal(link.Attrs().HardwareAddr), 64)} {
		addr.Flags = unix.IFA_F_NODAD
		if err := h.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add address %s: %w", addr.IPNet, err)
		}
	}
	return nil
}

// LinkLocal is the EUI-64 link-local address of an interface with MAC mac
// (RFC 4291 appendix A): fe80:: followed by the MAC with the universal/local
// bit flipped and ff:fe in its middle. A MAC that is not 6 bytes gives
// fe80::1.
func LinkLocal(mac net.HardwareAddr) netip.Addr {
	b := [16]byte{0: 0xfe, 1: 0x80}
	if len(mac) != 6 {
		b[15] = 1
		return netip.AddrFrom16(b)
	}
	copy(b[8:11], mac[:3])
	b[8] ^= 0x02
	b[11], b[12] = 0xff, 0xfe
	copy(b[13:], mac[3:])
	return netip.AddrFrom16(b)
}

// bridgeIPv6 makes the bridge the lab's IPv6 gateway: it never learns
// routes from the lab (accept_ra 0: a node running radvd must not become
// the host's router) nor solicits them, then gets gw and its link-local
// address.
// Equivalent to: sysctl -w net.ipv6.conf.DEV.accept_ra=0
// net.ipv6.conf.DEV.router_solicitations=0; ip addr add GW/BITS dev DEV nodad; …
func (h *Host) bridgeIPv6(link netlink.Link, gw netip.Addr, bits int) error {
	dev := link.Attrs().Name
	write := func() error {
		for _, k := range []string{"accept_ra", "router_solicitations"} {
			if err := sysctl.Write("net.ipv6.conf."+sysctl.Component(dev)+"."+k, "0"); err != nil {
				return err
			}
		}
		return nil
	}
	if err := h.inNS(write); err != nil {
		return err
	}
	return addIPv6(h.handle, link, gw, bits)
}

// RestoreIPv6 gives a node interface back the IPv6 addresses of ifc in the
// namespace at nsPath: the kernel drops link-local addresses (and, without
// keep_addr_on_down, all of them) when an interface goes down, and with
// address generation off nothing brings them back. Idempotent.
// Equivalent to: ip -n NODE addr replace A/BITS dev IFACE nodad; …
func RestoreIPv6(nsPath string, ifc topology.Interface) error {
	if !ifc.IPv6.IsValid() {
		return nil
	}
	return withLink(nsPath, ifc.Name, "restore ipv6", func(h *netlink.Handle, link netlink.Link) error {
		return addIPv6(h, link, ifc.IPv6.Addr(), ifc.IPv6.Bits())
	})
}
