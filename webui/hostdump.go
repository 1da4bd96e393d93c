package webui

import (
	"encoding/binary"
	"errors"
	"net"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"leolab/bridge"
	"leolab/internal/nldump"
	"leolab/render"
)

// hostLinks follows the links of the host's namespace, where every bridge
// port of every lab on the host is, at a cost that does not grow with
// their number while nothing changes: their names, states and impairments
// come from one full dump and then from the kernel's link and qdisc events
// (a socket subscribed to RTNLGRP_LINK and RTNLGRP_TC, drained each tick
// without blocking); each tick asks only for their counters (RTM_GETSTATS,
// 64-bit counters only), where a link dump made the kernel build a full
// RTM_NEWLINK message of every veth every second. A lost event (the
// socket's queue overflowed) means a new full dump.
// Equivalent to: ip -s link show; tc qdisc show; ip monitor link
type hostLinks struct {
	fd       int // the event socket; -1 when closed
	synced   bool
	links    map[int32]*hostLink // by ifindex
	byName   map[string]int32
	dirty    map[int32]bool     // impairment to read again
	counters map[int32]counters // this tick's, by ifindex
	buf      []byte
}

// hostLink is one host link's name and state (Up, Oper, Netem).
type hostLink struct {
	name string
	st   ifaceStats
}

func newHostLinks() *hostLinks { return &hostLinks{fd: -1} }

// linkTable finds a namespace's links by name, as read this tick.
type linkTable interface {
	get(name string) (linkInfo, bool)
}

// linkMap is a linkTable read with one dump.
type linkMap map[string]linkInfo

func (m linkMap) get(name string) (linkInfo, bool) {
	li, ok := m[name]
	return li, ok
}

// read brings the host's links up to date for this tick.
func (h *hostLinks) read() linkTable {
	if h.fd < 0 && h.open() != nil {
		return linkMap(readHost()) // no events: a full dump each time
	}
	h.drain()
	if !h.synced {
		h.sync()
	}
	h.readNetems()
	if h.counters == nil {
		h.counters = map[int32]counters{}
	}
	if !readCounters(h.counters) {
		return linkMap(readHost())
	}
	return h
}

// get is a host link's state and counters. A link this tick's counters
// lack (a dump still interrupted after every retry) is not reported: zero
// counters would show as a drop and then a jump of its rates.
func (h *hostLinks) get(name string) (linkInfo, bool) {
	idx, ok := h.byName[name]
	if !ok {
		return linkInfo{}, false
	}
	c, ok := h.counters[idx]
	if !ok {
		return linkInfo{}, false
	}
	return linkInfo{st: h.links[idx].st, c: c}, true
}

// eventBuffer is the event socket's receive buffer: about 4000 link
// events.
const eventBuffer = 16 << 20

// open subscribes to link and qdisc events; the first read syncs.
func (h *hostLinks) open() error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	// Room for a second of events while other labs on the host come and go
	// (a lost event costs a full dump); memory is used only while queued.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, eventBuffer) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, eventBuffer)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_TC}); err != nil {
		unix.Close(fd)
		return err
	}
	h.fd, h.synced, h.buf = fd, false, make([]byte, 1<<16)
	return nil
}

// close unsubscribes and forgets every link.
func (h *hostLinks) close() {
	if h.fd >= 0 {
		unix.Close(h.fd)
	}
	h.fd, h.synced, h.links, h.byName, h.dirty, h.counters = -1, false, nil, nil, nil, nil
}

// drain applies the events queued since the last tick.
func (h *hostLinks) drain() {
	for {
		n, _, err := unix.Recvfrom(h.fd, h.buf, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.ENOBUFS) {
			h.synced = false // events were lost: dump again
			continue
		}
		if err != nil || n == 0 {
			return // EAGAIN: nothing more queued
		}
		msgs, err := syscall.ParseNetlinkMessage(h.buf[:n])
		if err != nil {
			h.synced = false
			continue
		}
		if h.synced {
			for _, m := range msgs {
				h.apply(m)
			}
		}
	}
}

func (h *hostLinks) apply(m syscall.NetlinkMessage) {
	switch m.Header.Type {
	case unix.RTM_NEWLINK:
		if idx, name, st, _, ok := parseLink(m.Data); ok {
			if old := h.links[idx]; old != nil {
				st.Netem = old.st.Netem
				h.forget(idx)
			}
			h.links[idx] = &hostLink{name: name, st: st}
			h.byName[name] = idx
		}
	case unix.RTM_DELLINK:
		if len(m.Data) >= unix.SizeofIfInfomsg {
			h.forget(nl.DeserializeIfInfomsg(m.Data).Index)
		}
	case unix.RTM_NEWQDISC, unix.RTM_DELQDISC:
		idx, kind, ok := parseQdisc(m.Data)
		// Only an impairment (or a qdisc replacing one) matters: new veths'
		// default qdiscs are not read.
		if l := h.links[idx]; ok && l != nil && (impairment(kind) || l.st.Netem != "") {
			h.dirty[idx] = true
		}
	}
}

// forget drops link idx (deleted, or renamed).
func (h *hostLinks) forget(idx int32) {
	if l := h.links[idx]; l != nil && h.byName[l.name] == idx {
		delete(h.byName, l.name)
	}
	delete(h.links, idx)
}

// sync reads every link and qdisc afresh.
func (h *hostLinks) sync() {
	links, byName := map[int32]*hostLink{}, map[string]int32{}
	// Events keep only what changes after this dump up to date: a link an
	// interrupted dump left out would stay missing, so it must be whole.
	err := nldump.Run(func() error {
		clear(links)
		clear(byName)
		return dumpLinks(func(idx int32, name string, st ifaceStats, _ counters) {
			links[idx] = &hostLink{name: name, st: st}
			byName[name] = idx
		})
	})
	if err != nil {
		return // try again next tick
	}
	h.links, h.byName, h.dirty, h.synced = links, byName, map[int32]bool{}, true
	for idx := range impairedLinks() {
		h.dirty[idx] = true
	}
}

// readNetems reads the impairment of the links marked dirty.
func (h *hostLinks) readNetems() {
	if len(h.dirty) == 0 {
		return
	}
	nh, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return
	}
	defer nh.Close()
	for idx := range h.dirty {
		delete(h.dirty, idx)
		l := h.links[idx]
		if l == nil {
			continue
		}
		l.st.Netem = ""
		if link, err := nh.LinkByIndex(int(idx)); err == nil {
			if n, err := bridge.NetemOf(nh, link); err == nil && n != nil {
				l.st.Netem = render.Netem(n)
			}
		}
	}
}

// readHost reads every host link with one full dump, and the impairment
// of those that have one (a tbf or netem qdisc): what hostLinks does when
// it cannot subscribe to events. Links are read with a minimal parser
// (name, flags, operstate, the 64-bit counters) instead of decoding every
// attribute of every link.
// Equivalent to: ip -s link show; tc qdisc show
func readHost() map[string]linkInfo {
	out := map[string]linkInfo{}
	byIndex := map[int32]string{}
	err := dumpErr(nldump.Run(func() error {
		clear(out)
		clear(byIndex)
		return dumpLinks(func(idx int32, name string, st ifaceStats, c counters) {
			out[name] = linkInfo{st: st, c: c}
			byIndex[idx] = name
		})
	}))
	if err != nil {
		return nil
	}
	impaired := impairedLinks()
	if len(impaired) == 0 {
		return out
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return out
	}
	defer h.Close()
	for idx := range impaired {
		link, err := h.LinkByIndex(int(idx))
		if err != nil {
			continue
		}
		if n, err := bridge.NetemOf(h, link); err == nil && n != nil {
			li := out[byIndex[idx]]
			li.st.Netem = render.Netem(n)
			out[byIndex[idx]] = li
		}
	}
	return out
}

// dumpLinks calls f on every link of the host; an interrupted dump is
// nl.ErrDumpInterrupted, what it read having been given to f.
func dumpLinks(f func(idx int32, name string, st ifaceStats, c counters)) error {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	return req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWLINK, func(m []byte) bool {
		if idx, name, st, c, ok := parseLink(m); ok {
			f(idx, name, st, c)
		}
		return true
	})
}

// dumpErr drops the error of a dump still interrupted after nldump's
// retries, where what it read may stand (the next tick reads it again).
// A host where other labs come and go interrupts many dumps.
func dumpErr(err error) error {
	if errors.Is(err, nl.ErrDumpInterrupted) {
		return nil
	}
	return err
}

// parseLink reads an RTM_NEWLINK message's index, name, state and 64-bit
// counters, and nothing else.
func parseLink(m []byte) (idx int32, name string, st ifaceStats, c counters, ok bool) {
	if len(m) < unix.SizeofIfInfomsg {
		return 0, "", st, c, false
	}
	ifi := nl.DeserializeIfInfomsg(m)
	oper := netlink.LinkOperState(netlink.OperUnknown)
	eachAttr(m[unix.SizeofIfInfomsg:], func(typ uint16, v []byte) {
		switch typ {
		case unix.IFLA_IFNAME:
			name = string(trimNul(v))
		case unix.IFLA_OPERSTATE:
			if len(v) > 0 {
				oper = netlink.LinkOperState(v[0])
			}
		case unix.IFLA_STATS64:
			if len(v) >= 32 {
				c = stats64(v)
			}
		}
	})
	st = ifaceStats{Oper: oper.String(), Up: ifi.Flags&uint32(net.FlagUp) != 0 && oper == netlink.OperUp}
	return ifi.Index, name, st, c, name != ""
}

// stats64 reads the counters of a struct rtnl_link_stats64, which starts
// rx_packets, tx_packets, rx_bytes, tx_bytes.
func stats64(v []byte) counters {
	return counters{rxP: le(v[0:]), txP: le(v[8:]), rxB: le(v[16:]), txB: le(v[24:])}
}

// parseQdisc reads an RTM_NEWQDISC or RTM_DELQDISC message's link index
// and kind.
func parseQdisc(m []byte) (idx int32, kind string, ok bool) {
	if len(m) < nl.SizeofTcMsg {
		return 0, "", false
	}
	tc := nl.DeserializeTcMsg(m)
	eachAttr(m[nl.SizeofTcMsg:], func(typ uint16, v []byte) {
		if typ == nl.TCA_KIND {
			kind = string(trimNul(v))
		}
	})
	return tc.Ifindex, kind, true
}

func impairment(kind string) bool { return kind == "netem" || kind == "tbf" }

// impairedLinks lists the host links with a tbf or netem qdisc.
// Equivalent to: tc qdisc show
func impairedLinks() map[int32]bool {
	out := map[int32]bool{}
	req := nl.NewNetlinkRequest(unix.RTM_GETQDISC, unix.NLM_F_DUMP)
	req.AddData(&nl.TcMsg{Family: nl.FAMILY_ALL})
	req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWQDISC, func(m []byte) bool {
		if idx, kind, ok := parseQdisc(m); ok && impairment(kind) {
			out[idx] = true
		}
		return true
	})
	return out
}

// ifStatsMsg is struct if_stats_msg: a request for the statistics that
// filterMask selects, of every link (a dump) or of ifindex.
type ifStatsMsg struct {
	ifindex    uint32
	filterMask uint32
}

func (m *ifStatsMsg) Len() int { return 12 }

func (m *ifStatsMsg) Serialize() []byte {
	b := make([]byte, 12)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], m.ifindex)
	binary.NativeEndian.PutUint32(b[8:], m.filterMask)
	return b
}

// readCounters calls f with every host link's 64-bit counters: one
// RTM_GETSTATS dump asking for IFLA_STATS_LINK_64 only. It reports false
// when the kernel does not answer it (before Linux 4.7).
// Equivalent to: ip stats show group link
func readCounters(into map[int32]counters) bool {
	err := dumpErr(nldump.Run(func() error {
		clear(into)
		req := nl.NewNetlinkRequest(unix.RTM_GETSTATS, unix.NLM_F_DUMP)
		req.AddData(&ifStatsMsg{filterMask: 1 << (unix.IFLA_STATS_LINK_64 - 1)})
		return req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWSTATS, func(m []byte) bool {
			if len(m) < 12 {
				return true
			}
			idx := int32(binary.NativeEndian.Uint32(m[4:]))
			eachAttr(m[12:], func(typ uint16, v []byte) {
				if typ == unix.IFLA_STATS_LINK_64 && len(v) >= 32 {
					into[idx] = stats64(v)
				}
			})
			return true
		})
	}))
	return err == nil
}

// eachAttr calls f on each top-level route attribute of b, without
// allocating.
func eachAttr(b []byte, f func(typ uint16, v []byte)) {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b))
		if l < unix.SizeofRtAttr || l > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[2:])&attrTypeMask, b[unix.SizeofRtAttr:l])
		n := (l + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1)
		if n > len(b) {
			return
		}
		b = b[n:]
	}
}

// attrTypeMask drops the nested and byte-order flags of an attribute's type.
const attrTypeMask = ^uint16(unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)

func le(b []byte) uint64 { return binary.NativeEndian.Uint64(b) }

func trimNul(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
