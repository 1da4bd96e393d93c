package bridge

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"leolab/topology"
)

// Quiet start of a dual-stack bridge (issue 21, performance).
//
// Every node interface that carries IPv6 sends MLD reports when it comes
// up (it joins the solicited-node groups of its global and link-local
// addresses): 3.4 frames a node on average. A Linux bridge floods every
// MLDv2 report to every port whatever it knows (they go to ff02::16 and
// the bridge does not constrain them), and floods all IPv6 multicast while
// it knows of no MLD querier; every node's IPv6 stack parses and drops each
// copy. Node k's start therefore cost O(k) deliveries and a lab O(N²):
// about 1.7 million frames for 1000 nodes, a quarter of the deploy.
// Making the bridge its own querier does not help: it then queries out of
// every port each time a port is added (O(N²) again) and would snoop IPv4
// (IGMP) too.
//
// So, during a deploy only:
//   - nodes speak MLDv1 (bridge.PrepareIPv6), whose reports go to the group
//     itself and are forwarded only to multicast-router ports once the
//     bridge believes in a querier, and send their unsolicited reports at
//     once instead of over 10 s;
//   - the bridge is told that some other MLD querier exists: once a port is
//     up the host sends one MLDv2 general query from the bridge's
//     link-local address, with the bridge's "other querier present"
//     interval set long for it. Reports and IPv6 multicast to groups nobody
//     joined then go to the host only, so a new node costs O(1) frames;
//   - when every port and link exists, before any node's command runs,
//     EndQuietStart sends a second query with a 1 s interval, after which
//     the bridge forgets the querier, and each node's release puts MLDv2
//     and the report interval back (labs).
//
// A running lab therefore behaves as without any of this: the bridge floods
// IPv6 multicast to every port (MLD snooping inactive, as for IPv4) and the
// nodes use the kernel's MLD defaults. The bridge's interval setting is back
// at the kernel's default right after each query; only the timer that query
// armed keeps the long (or short) value.

const (
	// quietInterval is how long the bridge believes the startup querier
	// exists if the deploy never ends it, in 1/100 s: ten minutes. A
	// deploy still running then floods again, as before this existed.
	quietInterval = 600 * 100
	// endInterval ends the quiet start in 1 s: time for the nodes' answers
	// to the closing query to reach the host, not the other ports.
	endInterval = 100
	// defaultQuerierInterval is the kernel's "other querier present"
	// interval (255 s), put back after each query.
	defaultQuerierInterval = 25500
	// querierStateIPv6Timer is BRIDGE_QUERIER_IPV6_OTHER_TIMER inside
	// IFLA_BR_MCAST_QUERIER_STATE (linux/if_link.h).
	querierStateIPv6Timer = 7
)

// quietStartBridge reports whether b gets a quiet start: a dual-stack bridge
// with the host's gateway on it (the query needs the bridge's link-local
// address as its source), not stretched across hosts (a VXLAN port would
// carry the query to other hosts' bridges).
func quietStartBridge(b topology.Bridge) bool {
	return b.Gateway6.IsValid() && b.VXLAN == nil
}

// startQuiet begins b's quiet start once a port of b is up (before that the
// bridge has no carrier and drops what the host sends, or has no route for
// it). Until the bridge reports the querier it is tried again after each
// new port, at most quietAttempts times per bridge and Host: each query
// that gets through reaches every port.
// Equivalent to: ip link set BR type bridge mcast_querier_interval 60000;
// (send an MLDv2 general query to ff02::1 on BR); … mcast_querier_interval 25500
func (h *Host) startQuiet(b topology.Bridge) error {
	if !quietStartBridge(b) {
		return nil
	}
	h.quietMu.Lock()
	defer h.quietMu.Unlock()
	if h.quiet == nil {
		h.quiet = map[string]int{}
	}
	if h.quiet[b.Device] == quietOn || h.quiet[b.Device] >= quietAttempts {
		return nil
	}
	h.quiet[b.Device]++
	sent, err := h.announceQuerier(b.Device, quietInterval)
	if err != nil {
		return fmt.Errorf("quiet start of bridge %s: %w", b.Device, err)
	}
	if !sent {
		return nil
	}
	on, err := h.otherQuerierPresent(b.Device)
	if err != nil {
		return fmt.Errorf("quiet start of bridge %s: %w", b.Device, err)
	}
	if on {
		h.quiet[b.Device] = quietOn
	}
	return nil
}

const (
	// quietAttempts bounds the queries startQuiet sends for one bridge.
	quietAttempts = 8
	// quietOn marks a bridge whose quiet start began.
	quietOn = -1
)

// EndQuietStart ends b's quiet start: about a second later the bridge
// floods IPv6 multicast to every port again. Call it when every port of
// the deploy exists and before the nodes' commands run. A bridge whose
// quiet start never began (or that is not dual-stack) is left alone.
// Equivalent to: ip link set BR type bridge mcast_querier_interval 100;
// (send an MLDv2 general query to ff02::1 on BR); … mcast_querier_interval 25500
func (h *Host) EndQuietStart(b topology.Bridge) error {
	h.quietMu.Lock()
	defer h.quietMu.Unlock()
	if h.quiet[b.Device] != quietOn {
		return nil
	}
	delete(h.quiet, b.Device)
	if _, err := h.announceQuerier(b.Device, endInterval); err != nil {
		return fmt.Errorf("end quiet start of bridge %s: %w", b.Device, err)
	}
	return nil
}

// announceQuerier sends one MLD general query on bridge dev with the
// bridge's "other querier present" interval set to interval (1/100 s) for
// it, then puts the kernel's default back. sent is false when the query
// could not be sent (the bridge not ready yet); err is for the settings.
func (h *Host) announceQuerier(dev string, interval uint64) (sent bool, err error) {
	link, err := h.handle.LinkByName(dev)
	if err != nil {
		return false, fmt.Errorf("find %s: %w", dev, err)
	}
	index := link.Attrs().Index
	if err := h.setQuerierInterval(index, interval); err != nil {
		return false, err
	}
	sent = h.inNS(func() error { return sendMLDQuery(index) }) == nil
	return sent, h.setQuerierInterval(index, defaultQuerierInterval)
}

func (h *Host) setQuerierInterval(index int, interval uint64) error {
	err := setLinkData(h.raw, index, "bridge", func(data *nl.RtAttr) {
		data.AddRtAttr(nl.IFLA_BR_MCAST_QUERIER_INTVL, nl.Uint64Attr(interval))
	})
	if err != nil {
		return fmt.Errorf("multicast querier interval %d: %w", interval, err)
	}
	return nil
}

// mldQuery is an MLDv2 general query (RFC 3810 5.1): maximum response
// code 0, no group, no sources, robustness 2, query interval 125 s.
func mldQuery() []byte {
	b := make([]byte, 28)
	b[0] = 130 // Multicast Listener Query
	b[24] = 2  // S=0, QRV=2
	b[25] = 125
	return b
}

// hopOpts is an empty hop-by-hop options header (PadN only). The bridge's
// snooping takes any MLD message behind a hop-by-hop header; a node's IPv6
// stack drops a query without the router alert option (RFC 3810 6.2), so
// no node answers these queries: the bridge alone hears them.
var hopOpts = []byte{0, 0, 1, 4, 0, 0, 0, 0}

// sendMLDQuery sends mldQuery to ff02::1 out of interface index of the
// calling thread's namespace, hop limit 1, behind hopOpts, from the
// interface's link-local address (the kernel's choice; it computes the
// ICMPv6 checksum).
func sendMLDQuery(index int) error {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		return fmt.Errorf("mld query socket: %w", err)
	}
	defer unix.Close(fd)
	opts := []struct {
		opt, value int
	}{{unix.IPV6_MULTICAST_HOPS, 1}, {unix.IPV6_MULTICAST_IF, index}, {unix.IPV6_MULTICAST_LOOP, 0}}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o.opt, o.value); err != nil {
			return fmt.Errorf("mld query socket option %d: %w", o.opt, err)
		}
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_IPV6, unix.IPV6_HOPOPTS, string(hopOpts)); err != nil {
		return fmt.Errorf("mld query hop-by-hop header: %w", err)
	}
	to := &unix.SockaddrInet6{Addr: netip.MustParseAddr("ff02::1").As16(), ZoneId: uint32(index)}
	if err := unix.Sendto(fd, mldQuery(), 0, to); err != nil {
		return fmt.Errorf("send mld query: %w", err)
	}
	return nil
}

// otherQuerierPresent reports whether the bridge at dev currently believes
// in another IPv6 querier (IFLA_BR_MCAST_QUERIER_STATE carries its timer).
func (h *Host) otherQuerierPresent(dev string) (bool, error) {
	left, err := h.querierTimer(dev)
	return left > 0, err
}

// querierTimer is how long (1/100 s) the bridge at dev keeps believing in
// another IPv6 querier; 0 when it believes in none.
func (h *Host) querierTimer(dev string) (uint64, error) {
	v, err := h.bridgeInfo(dev, unix.IFLA_BR_MCAST_QUERIER_STATE, querierStateIPv6Timer)
	if err != nil || len(v) != 8 {
		return 0, err
	}
	return binary.NativeEndian.Uint64(v), nil
}

// bridgeInfo is the value of the bridge attribute at path inside dev's
// IFLA_INFO_DATA (nil when absent).
func (h *Host) bridgeInfo(dev string, path ...uint16) ([]byte, error) {
	link, err := h.handle.LinkByName(dev)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", dev, err)
	}
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: h.raw}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(link.Attrs().Index)
	req.AddData(msg)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dev, err)
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", dev, err)
		}
		if v, ok := nested(attrs, append([]uint16{unix.IFLA_LINKINFO, nl.IFLA_INFO_DATA}, path...)...); ok {
			return v, nil
		}
	}
	return nil, nil
}

// nested follows path through nested netlink attributes and returns the
// last one's value.
func nested(attrs []syscall.NetlinkRouteAttr, path ...uint16) ([]byte, bool) {
	for i, typ := range path {
		var found *syscall.NetlinkRouteAttr
		for k := range attrs {
			if attrs[k].Attr.Type&nl.NLA_TYPE_MASK == typ {
				found = &attrs[k]
				break
			}
		}
		if found == nil {
			return nil, false
		}
		if i == len(path)-1 {
			return found.Value, true
		}
		var err error
		if attrs, err = nl.ParseRouteAttr(found.Value); err != nil {
			return nil, false
		}
	}
	return nil, false
}
