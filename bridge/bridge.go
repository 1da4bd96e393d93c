package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"leolab/internal/nldump"
	"leolab/topology"
)

// AddBridge creates the lab bridge b.Device with alias b.Alias and MTU
// b.MTU, turns STP off and the forward delay to 0 (ports forward at once),
// brings it up and gives it b.Gateway/prefix when b.Gateway is valid, and
// b.Gateway6 with a link-local address when that is (bridgeIPv6).
// Equivalent to: ip link add DEV type bridge stp_state 0 forward_delay 0;
// ip addr add GW/LEN dev DEV; ip link set DEV alias A mtu M addrgenmode none up
func (h *Host) AddBridge(b topology.Bridge) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = b.Device
	attrs.MTU = b.MTU
	// A fixed address set at creation keeps the bridge (and gateway) MAC
	// from following its lowest-numbered port as ports come and go. The
	// plan decides it; a plan saved before it did leaves it to the kernel.
	if b.MAC != "" {
		mac, err := net.ParseMAC(b.MAC)
		if err != nil {
			return fmt.Errorf("bridge %s: mac %q: %w", b.Device, b.MAC, err)
		}
		attrs.HardwareAddr = mac
	}
	if err := h.handle.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return fmt.Errorf("create bridge %s: %w", b.Device, err)
	}
	link, err := h.handle.LinkByName(b.Device)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", b.Device, err)
	}
	if err := h.handle.LinkSetAlias(link, b.Alias); err != nil {
		return fmt.Errorf("set alias of bridge %s: %w", b.Device, err)
	}
	if err := h.setBridgeNoDelay(link.Attrs().Index); err != nil {
		return fmt.Errorf("set stp off, forward delay 0 on bridge %s: %w", b.Device, err)
	}
	if b.Gateway.IsValid() {
		addr := prefixAddr(b.Gateway, b.Subnet.Bits())
		if err := h.handle.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add gateway %s to bridge %s: %w", addr.IPNet, b.Device, err)
		}
	}
	if err := noAutoIPv6(h.handle, link); err != nil {
		return fmt.Errorf("bridge %s: %w", b.Device, err)
	}
	if b.Gateway6.IsValid() {
		if err := h.bridgeIPv6(link, b.Gateway6, b.Subnet6.Bits()); err != nil {
			return fmt.Errorf("ipv6 gateway of bridge %s: %w", b.Device, err)
		}
	}
	if err := h.handle.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up bridge %s: %w", b.Device, err)
	}
	return nil
}

// setBridgeNoDelay sets IFLA_BR_STP_STATE=0 and IFLA_BR_FORWARD_DELAY=0,
// which netlink.Bridge has no fields for.
func (h *Host) setBridgeNoDelay(index int) error {
	return setLinkData(h.raw, index, "bridge", func(data *nl.RtAttr) {
		data.AddRtAttr(nl.IFLA_BR_STP_STATE, nl.Uint32Attr(0))
		data.AddRtAttr(nl.IFLA_BR_FORWARD_DELAY, nl.Uint32Attr(0))
	})
}

// setLinkData changes link index's type-specific settings (IFLA_INFO_DATA
// of its kind) that the netlink library has no setter for: fill adds them.
func setLinkData(raw *nl.SocketHandle, index int, kind string, fill func(data *nl.RtAttr)) error {
	req := &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{
			Len:   uint32(unix.SizeofNlMsghdr),
			Type:  unix.RTM_NEWLINK,
			Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK,
		},
		Sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: raw},
	}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated(kind))
	fill(info.AddRtAttr(nl.IFLA_INFO_DATA, nil))
	req.AddData(info)
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// DeleteBridge deletes the bridge device; a missing device is success.
// Equivalent to: ip link del DEV
func (h *Host) DeleteBridge(device string) error {
	link, err := h.handle.LinkByName(device)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("find bridge %s: %w", device, err)
	}
	if err := h.handle.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete bridge %s: %w", device, err)
	}
	return nil
}

// SweepLinks deletes every link in the namespace whose alias starts with
// aliasPrefix (e.g. "leolab:LAB:"), the fallback when a lab's state is lost
// or half-written. Deleting one end of a veth pair removes both.
func (h *Host) SweepLinks(aliasPrefix string) error {
	if aliasPrefix == "" {
		return errors.New("sweep links: empty alias prefix")
	}
	links, err := listLinks(h.handle)
	if err != nil {
		return fmt.Errorf("sweep links %s: %w", aliasPrefix, err)
	}
	var errs *multierror.Error
	for _, l := range links {
		a := l.Attrs()
		if !strings.HasPrefix(a.Alias, aliasPrefix) {
			continue
		}
		if err := h.handle.LinkDel(l); err != nil && !isNotFound(err) {
			errs = multierror.Append(errs, fmt.Errorf("delete link %s (%s): %w", a.Name, a.Alias, err))
		}
	}
	return errs.ErrorOrNil()
}

// listLinks dumps all links, retrying dumps the kernel interrupted (on a
// busy host other labs' links come and go during a dump of thousands).
func listLinks(h *netlink.Handle) ([]netlink.Link, error) {
	return nldump.Retry(h.LinkList)
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}

// prefixAddr is a/bits as a netlink address.
func prefixAddr(a netip.Addr, bits int) *netlink.Addr {
	ip := net.IP(a.AsSlice())
	return &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, len(ip)*8)}}
}
