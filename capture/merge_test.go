package capture

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
)

// makeBlock builds a copied TPACKET_V3 block holding one packet per
// timestamp; each packet's data is "ep:ts".
func makeBlock(ep int, ts ...int64) []byte {
	le := binary.NativeEndian
	b := make([]byte, 48)
	le.PutUint32(b[bdNumPkts:], uint32(len(ts)))
	le.PutUint32(b[bdFirstPkt:], 48)
	for i, t := range ts {
		data := []byte(fmt.Sprintf("%d:%d", ep, t))
		h := make([]byte, 48)
		le.PutUint32(h[pktSec:], uint32(t/1e9))
		le.PutUint32(h[pktNsec:], uint32(t%1e9))
		le.PutUint32(h[pktSnaplen:], uint32(len(data)))
		le.PutUint32(h[pktLen:], uint32(len(data)))
		le.PutUint16(h[pktMac:], 48)
		rec := append(h, data...)
		for len(rec)%16 != 0 {
			rec = append(rec, 0)
		}
		if i < len(ts)-1 {
			le.PutUint32(rec[pktNext:], uint32(len(rec)))
		}
		b = append(b, rec...)
	}
	return b
}

type sink struct {
	out   []string
	freed int
}

func (s *sink) merger(n, maxBytes int) *merger {
	return newMerger(n, maxBytes,
		func(ep int, p packet) error { s.out = append(s.out, string(p.data)); return nil },
		func(int, []byte) { s.freed++ })
}

func TestMergerWaitsForOtherEndpoints(t *testing.T) {
	var s sink
	m := s.merger(2, 1<<20)
	m.add(batch{ep: 0, buf: makeBlock(0, 10, 30, 50)})
	if len(s.out) != 0 {
		t.Fatalf("wrote %q before endpoint 1 said anything", s.out)
	}
	m.add(batch{ep: 1, mark: 20}) // nothing older than 20 will come from 1
	if want := []string{"0:10"}; !reflect.DeepEqual(s.out, want) {
		t.Fatalf("after mark 20: %q, want %q", s.out, want)
	}
	m.add(batch{ep: 1, buf: makeBlock(1, 25, 40)})
	if want := []string{"0:10", "1:25", "0:30", "1:40"}; !reflect.DeepEqual(s.out, want) {
		t.Fatalf("after 1's block: %q, want %q", s.out, want)
	}
	m.add(batch{ep: 1, done: true})
	if want := []string{"0:10", "1:25", "0:30", "1:40", "0:50"}; !reflect.DeepEqual(s.out, want) {
		t.Fatalf("after 1 ended: %q, want %q", s.out, want)
	}
	if s.freed != 2 {
		t.Errorf("%d buffers freed, want 2", s.freed)
	}
}

func TestMergerFlushAllAndMemoryBound(t *testing.T) {
	var s sink
	m := s.merger(2, 6) // each packet is 4 bytes: the second one overflows
	m.add(batch{ep: 0, buf: makeBlock(0, 10)})
	if len(s.out) != 0 {
		t.Fatalf("wrote %q under the bound", s.out)
	}
	m.add(batch{ep: 0, buf: makeBlock(0, 11)})
	if want := []string{"0:10"}; !reflect.DeepEqual(s.out, want) {
		t.Fatalf("over the bound: %q, want %q", s.out, want)
	}
	m.add(batch{ep: 1, buf: makeBlock(1, 5)}) // late: goes out in arrival order, not lost
	m.flush(true)
	if want := []string{"0:10", "1:5", "0:11"}; !reflect.DeepEqual(s.out, want) {
		t.Fatalf("flush all: %q, want %q", s.out, want)
	}
}

func TestMergerEmptyBlockFreed(t *testing.T) {
	var s sink
	m := s.merger(1, 1<<20)
	m.add(batch{ep: 0, buf: makeBlock(0)})
	if s.freed != 1 || len(s.out) != 0 {
		t.Errorf("empty block: freed %d, wrote %q", s.freed, s.out)
	}
}

func TestParseBlockRestoresVlanTag(t *testing.T) {
	le := binary.NativeEndian
	frame := []byte{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x00, 0x45}
	b := makeBlock(0, 1)
	h := b[48:]
	le.PutUint32(h[pktSnaplen:], uint32(len(frame)))
	le.PutUint32(h[pktLen:], uint32(len(frame)))
	le.PutUint32(h[pktStatus:], statusVlan)
	le.PutUint32(h[pktVlanTCI:], 42)
	b = append(b[:48+48], frame...)
	var got []packet
	parseBlock(b, func(p packet) { got = append(got, p) })
	want := append(append(append([]byte{}, frame[:12]...), 0x81, 0x00, 0, 42), frame[12:]...)
	if len(got) != 1 || string(got[0].data) != string(want) || got[0].wire != len(frame)+4 {
		t.Fatalf("got %+v, want data %x wire %d", got, want, len(frame)+4)
	}
}
