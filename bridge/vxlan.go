package bridge

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/topology"
)

// Labs across hosts: a cross-host bridge gets a VXLAN port, a cross-host
// link end is a VXLAN device inside its node. Both use head-end
// replication: one static all-zeros FDB entry per other host sends every
// broadcast, unknown unicast and multicast frame to each of them by
// unicast UDP, so the underlay needs no multicast. Learning stays on, so
// known MACs go to their one host only.

// newVXLAN creates the VXLAN device name in h's namespace (its UDP socket
// stays there even when the device moves into a node), with alias, MAC and
// MTU, and one FDB entry per remote. On failure it is deleted again.
func newVXLAN(h *netlink.Handle, raw *nl.SocketHandle, name, alias string, mac net.HardwareAddr, mtu, master int, v *topology.VXLAN) (link netlink.Link, retErr error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.MTU = mtu
	attrs.HardwareAddr = mac
	attrs.MasterIndex = master
	vx := &netlink.Vxlan{
		LinkAttrs: attrs,
		VxlanId:   int(v.VNI),
		SrcAddr:   net.IP(v.Local.AsSlice()),
		Port:      v.Port,
		Learning:  true,
		TTL:       64,
	}
	if err := h.LinkAdd(vx); err != nil {
		return nil, fmt.Errorf("create vxlan %s (vni %d): %w", name, v.VNI, err)
	}
	defer func() {
		if retErr != nil {
			_ = deleteLinkByName(h, name)
		}
	}()
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find vxlan %s: %w", name, err)
	}
	if err := inheritDF(raw, link.Attrs().Index); err != nil {
		return nil, fmt.Errorf("vxlan %s: df inherit: %w", name, err)
	}
	if err := h.LinkSetAlias(link, alias); err != nil {
		return nil, fmt.Errorf("set alias of vxlan %s: %w", name, err)
	}
	for _, r := range v.Remotes {
		if err := appendFlood(raw, link.Attrs().Index, r); err != nil {
			return nil, fmt.Errorf("vxlan %s: flood entry to host %s (%s): %w", name, r.Host, r.Address, err)
		}
	}
	if err := noAutoIPv6(h, link); err != nil {
		return nil, fmt.Errorf("vxlan %s: %w", name, err)
	}
	return link, nil
}

// inheritDF makes the VXLAN device copy the inner packet's DF bit to the
// outer one (netlink.Vxlan has no field for it). A DF packet too large for
// the underlay is then refused with an ICMP "fragmentation needed" to its
// sender instead of being fragmented on the underlay, so the segment's MTU
// is the one the nodes see.
// Equivalent to: ip link set DEV type vxlan df inherit
func inheritDF(raw *nl.SocketHandle, index int) error {
	return setLinkData(raw, index, "vxlan", func(data *nl.RtAttr) {
		data.AddRtAttr(unix.IFLA_VXLAN_DF, []byte{vxlanDFInherit})
	})
}

// appendFlood adds the static FDB entry 00:00:00:00:00:00 → r (its address
// and UDP port) to the VXLAN device index. netlink.Neigh has no port, so
// the request is built here.
// Equivalent to: bridge fdb append 00:00:00:00:00:00 dev DEV dst ADDR port PORT
func appendFlood(raw *nl.SocketHandle, index int, r topology.Remote) error {
	req := &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{
			Len:   uint32(unix.SizeofNlMsghdr),
			Type:  unix.RTM_NEWNEIGH,
			Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK | unix.NLM_F_CREATE | unix.NLM_F_APPEND,
		},
		Sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: raw},
	}
	req.AddData(&netlink.Ndmsg{
		Family: unix.AF_BRIDGE,
		Index:  uint32(index),
		State:  netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags:  netlink.NTF_SELF,
	})
	req.AddData(nl.NewRtAttr(netlink.NDA_LLADDR, make([]byte, 6)))
	req.AddData(nl.NewRtAttr(netlink.NDA_DST, r.Address.AsSlice()))
	req.AddData(nl.NewRtAttr(netlink.NDA_PORT, []byte{byte(r.Port >> 8), byte(r.Port)}))
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// AddVXLANPort plugs the VXLAN port of cross-host bridge b into it.
// Equivalent to: ip link add DEV type vxlan id VNI local ADDR dstport PORT
// learning; bridge fdb append 00:00:00:00:00:00 dev DEV dst REMOTE …;
// ip link set DEV master BRIDGE mtu M up
func (h *Host) AddVXLANPort(lab string, b topology.Bridge) (retErr error) {
	v := b.VXLAN
	if v == nil || len(v.Remotes) == 0 {
		return nil
	}
	br, err := h.handle.LinkByName(b.Device)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", b.Device, err)
	}
	link, err := newVXLAN(h.handle, h.raw, v.Device, hostnames.VXLANAlias(lab, b.Name), nil, b.MTU, br.Attrs().Index, v)
	if err != nil {
		return err
	}
	if err := h.handle.LinkSetUp(link); err != nil {
		_ = deleteLinkByName(h.handle, v.Device)
		return fmt.Errorf("bring up vxlan %s: %w", v.Device, err)
	}
	return nil
}

// AddVXLANEnd makes ifc, the local end of cross-host link l, a VXLAN
// device in the node's namespace: created in h's namespace under its host
// device name (so its UDP socket lives on the host's underlay), moved into
// the node, renamed to the interface name and configured like a veth end.
func (h *Host) AddVXLANEnd(ns *NodeNS, l topology.Link, ifc topology.Interface) (retErr error) {
	if l.VXLAN == nil {
		return errors.New("link has no vxlan")
	}
	if err := ns.open(); err != nil {
		return err
	}
	mac, err := parseMAC(ifc.MAC)
	if err != nil {
		return fmt.Errorf("link %s: %w", ifc.Alias, err)
	}
	link, err := newVXLAN(h.handle, h.raw, ifc.HostDevice, ifc.Alias, mac, linkMTU(l, ifc), 0, l.VXLAN)
	if err != nil {
		return err
	}
	if err := h.handle.LinkSetNsFd(link, int(ns.ns)); err != nil {
		_ = deleteLinkByName(h.handle, ifc.HostDevice)
		return fmt.Errorf("move vxlan %s into the node: %w", ifc.HostDevice, err)
	}
	// From here the device lives in the node: it dies with the node.
	moved, err := ns.handle.LinkByName(ifc.HostDevice)
	if err != nil {
		return fmt.Errorf("find vxlan %s in the node: %w", ifc.HostDevice, err)
	}
	if err := ns.handle.LinkSetName(moved, ifc.Name); err != nil {
		return fmt.Errorf("rename vxlan %s to %s: %w", ifc.HostDevice, ifc.Name, err)
	}
	if ifc.Netem == nil {
		ifc.Netem = l.Netem
	}
	return configureEnd(ns.handle, ifc.Name, ifc)
}

// vxlanDFInherit is VXLAN_DF_INHERIT of linux/if_link.h.
const vxlanDFInherit = 2
