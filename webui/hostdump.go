package webui

import (
	"encoding/binary"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"leolab/bridge"
	"leolab/internal/nldump"
	"leolab/render"
)

// readHost is readNamespace for the host's namespace, where every bridge
// port of every lab on the host is: a thousand ports make a thousand
// links, so the dump is read with a minimal parser (name, flags,
// operstate, the 64-bit counters) instead of decoding every attribute of
// every link, and qdiscs are decoded only on the links that have an
// impairment (a tbf or netem qdisc).
// Equivalent to: ip -s link show; tc qdisc show
func readHost() map[string]linkInfo {
	out := map[string]linkInfo{}
	byIndex := map[int32]string{}
	onLink := func(m []byte) bool {
		if len(m) < unix.SizeofIfInfomsg {
			return true
		}
		ifi := nl.DeserializeIfInfomsg(m)
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return true
		}
		var name string
		var li linkInfo
		oper := netlink.LinkOperState(netlink.OperUnknown)
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFLA_IFNAME:
				name = string(trimNul(a.Value))
			case unix.IFLA_OPERSTATE:
				if len(a.Value) > 0 {
					oper = netlink.LinkOperState(a.Value[0])
				}
			case unix.IFLA_STATS64:
				if v := a.Value; len(v) >= 32 {
					// rtnl_link_stats64 starts rx_packets, tx_packets, rx_bytes, tx_bytes.
					li.c = counters{rxP: le(v[0:]), txP: le(v[8:]), rxB: le(v[16:]), txB: le(v[24:])}
				}
			}
		}
		li.st = ifaceStats{Oper: oper.String(), Up: ifi.Flags&uint32(net.FlagUp) != 0 && oper == netlink.OperUp}
		out[name] = li
		byIndex[ifi.Index] = name
		return true
	}
	err := nldump.Run(func() error { // links come and go while a lab deploys
		clear(out)
		clear(byIndex)
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		return req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWLINK, onLink)
	})
	if err != nil {
		return nil
	}
	impaired := map[int]bool{}
	qreq := nl.NewNetlinkRequest(unix.RTM_GETQDISC, unix.NLM_F_DUMP)
	qreq.AddData(&nl.TcMsg{Family: nl.FAMILY_ALL})
	qreq.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWQDISC, func(m []byte) bool {
		if len(m) < nl.SizeofTcMsg {
			return true
		}
		tc := nl.DeserializeTcMsg(m)
		attrs, err := nl.ParseRouteAttr(m[nl.SizeofTcMsg:])
		if err != nil {
			return true
		}
		for _, a := range attrs {
			if a.Attr.Type == nl.TCA_KIND {
				if k := string(trimNul(a.Value)); k == "netem" || k == "tbf" {
					impaired[int(tc.Ifindex)] = true
				}
			}
		}
		return true
	})
	if len(impaired) > 0 {
		if h, err := netlink.NewHandle(unix.NETLINK_ROUTE); err == nil {
			defer h.Close()
			for idx := range impaired {
				link, err := h.LinkByIndex(idx)
				if err != nil {
					continue
				}
				if n, err := bridge.NetemOf(h, link); err == nil && n != nil {
					li := out[byIndex[int32(idx)]]
					li.st.Netem = render.Netem(n)
					out[byIndex[int32(idx)]] = li
				}
			}
		}
	}
	return out
}

func le(b []byte) uint64 { return binary.NativeEndian.Uint64(b) }

func trimNul(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
