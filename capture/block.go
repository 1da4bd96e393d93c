package capture

import "encoding/binary"

// packet is one captured frame: its kernel timestamp (Unix ns), the bytes
// kept (at most the snap length) and its length on the wire.
type packet struct {
	ts   int64
	data []byte
	wire int
}

// Offsets in the kernel's TPACKET_V3 structures (linux/if_packet.h).
const (
	bdNumPkts    = 12 // tpacket_block_desc: 8-byte prefix, then tpacket_hdr_v1
	bdFirstPkt   = 16
	pktNext      = 0 // tpacket3_hdr
	pktSec       = 4
	pktNsec      = 8
	pktSnaplen   = 12
	pktLen       = 16
	pktStatus    = 20
	pktMac       = 24
	pktVlanTCI   = 32
	pktVlanTPID  = 36
	statusVlan   = 0x10 // TP_STATUS_VLAN_VALID
	statusTPID   = 0x40 // TP_STATUS_VLAN_TPID_VALID
	etherAddrLen = 12
)

// parseBlock calls fn for every packet of a copied ring block. Frames
// whose 802.1Q tag the kernel stripped into the header get it back, as
// libpcap does, so the file shows what was on the wire.
func parseBlock(b []byte, fn func(packet)) {
	le := binary.NativeEndian
	if len(b) < bdFirstPkt+4 {
		return
	}
	n := int(le.Uint32(b[bdNumPkts:]))
	off := int(le.Uint32(b[bdFirstPkt:]))
	for range n {
		if off <= 0 || off+pktVlanTPID+2 > len(b) {
			return
		}
		h := b[off:]
		mac := int(le.Uint16(h[pktMac:]))
		caplen := int(le.Uint32(h[pktSnaplen:]))
		if mac+caplen > len(h) {
			return
		}
		p := packet{
			ts:   int64(le.Uint32(h[pktSec:]))*1e9 + int64(le.Uint32(h[pktNsec:])),
			data: h[mac : mac+caplen : mac+caplen],
			wire: int(le.Uint32(h[pktLen:])),
		}
		if st := le.Uint32(h[pktStatus:]); st&statusVlan != 0 && caplen >= etherAddrLen {
			tpid := uint16(0x8100)
			if st&statusTPID != 0 {
				tpid = le.Uint16(h[pktVlanTPID:])
			}
			p = withVlan(p, tpid, uint16(le.Uint32(h[pktVlanTCI:])))
		}
		fn(p)
		next := int(le.Uint32(h[pktNext:]))
		if next == 0 {
			return
		}
		off += next
	}
}

// withVlan returns p with a VLAN tag inserted after the MAC addresses.
func withVlan(p packet, tpid, tci uint16) packet {
	d := make([]byte, 0, len(p.data)+4)
	d = append(d, p.data[:etherAddrLen]...)
	d = binary.BigEndian.AppendUint16(d, tpid)
	d = binary.BigEndian.AppendUint16(d, tci)
	d = append(d, p.data[etherAddrLen:]...)
	return packet{ts: p.ts, data: d, wire: p.wire + 4}
}
