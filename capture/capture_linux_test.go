//go:build linux

package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/vishvananda/netlink"

	"leolab/internal/nstest"
)

// pair is a veth link between two throwaway namespaces, addressed
// 10.250.0.1 (a) and 10.250.0.2 (b), with static neighbours and IPv6 off
// so the only traffic is what the test sends.
type pair struct {
	a, b nstest.NS
	rx   *net.UDPConn // in b, port 9999
	tx   *net.UDPConn // in a, to b
}

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{a: nstest.New(t), b: nstest.New(t)}
	macA, macB := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	err := nstest.Do(p.a.Handle, func() error {
		return netlink.LinkAdd(&netlink.Veth{
			LinkAttrs:        netlink.LinkAttrs{Name: "cpa0", HardwareAddr: macA},
			PeerName:         "cpb0",
			PeerHardwareAddr: macB,
			PeerNamespace:    netlink.NsFd(int(p.b.Handle)),
		})
	})
	if err != nil {
		t.Fatalf("add veth: %v", err)
	}
	p.setup(t, p.a, "cpa0", "10.250.0.1/24", "10.250.0.2", macB)
	p.setup(t, p.b, "cpb0", "10.250.0.2/24", "10.250.0.1", macA)
	nstest.Do(p.b.Handle, func() error {
		p.rx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 250, 0, 2), Port: 9999})
		return err
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { p.rx.Close() })
	nstest.Do(p.a.Handle, func() error {
		p.tx, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 250, 0, 2), Port: 9999})
		return err
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { p.tx.Close() })
	return p
}

func (p *pair) setup(t *testing.T, ns nstest.NS, dev, addr, peer string, peerMAC net.HardwareAddr) {
	t.Helper()
	err := nstest.Do(ns.Handle, func() error {
		for _, f := range []string{"all", "default", "lo"} {
			os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0)
		}
		l, err := netlink.LinkByName(dev)
		if err != nil {
			return err
		}
		os.WriteFile("/proc/sys/net/ipv6/conf/"+dev+"/disable_ipv6", []byte("1"), 0)
		a, _ := netlink.ParseAddr(addr)
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
		n := &netlink.Neigh{LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT,
			IP: net.ParseIP(peer), HardwareAddr: peerMAC}
		if err := netlink.NeighAdd(n); err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		t.Fatalf("set up %s: %v", dev, err)
	}
}

// send sends datagrams numbered from..to-1 (the number is the payload).
func (p *pair) send(t *testing.T, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := p.tx.Write(binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}

// captureAsync starts Run and returns once its sockets are bound.
func captureAsync(t *testing.T, ctx context.Context, eps []Endpoint, opts Options) (*bytes.Buffer, chan error, *Stats) {
	t.Helper()
	var buf bytes.Buffer
	started := make(chan struct{})
	opts.Started = func() { close(started) }
	done := make(chan error, 1)
	var st Stats
	go func() {
		var err error
		st, err = Run(ctx, eps, &buf, opts)
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("capture: %v", err)
	}
	return &buf, done, &st
}

type record struct {
	iface string
	ts    time.Time
	seq   int // datagram number, -1 for other packets
}

// readFile parses a pcapng stream: interface names and packets.
func readFile(t *testing.T, b []byte) ([]string, []record, *pcapgo.NgReader) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("pcapng: %v", err)
	}
	var recs []record
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("pcapng packet %d: %v", len(recs), err)
		}
		intf, _ := r.Interface(ci.InterfaceIndex)
		rec := record{iface: intf.Name, ts: ci.Timestamp, seq: -1}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && u.DstPort == 9999 && len(u.Payload) == 4 {
			rec.seq = int(binary.BigEndian.Uint32(u.Payload))
		}
		recs = append(recs, rec)
	}
	var names []string
	for i := range r.NInterfaces() {
		intf, _ := r.Interface(i)
		names = append(names, intf.Name)
	}
	return names, recs, r
}

func endpoints(p *pair) []Endpoint {
	return []Endpoint{{Name: "a:cpa0", Netns: p.a.Path, Dev: "cpa0"}, {Name: "b:cpb0", Netns: p.b.Path, Dev: "cpb0"}}
}

// Both ends of a link: every datagram appears once per end, the sender's
// copy first, the whole file in time order, the counters match.
func TestCaptureTwoEndpointsInOrder(t *testing.T) {
	nstest.CheckLeaks(t, "cpa0")
	p := newPair(t)
	const n = 50
	buf, done, st := captureAsync(t, context.Background(), endpoints(p), Options{Count: 2 * n})
	p.send(t, 0, n)
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	names, recs, _ := readFile(t, buf.Bytes())
	if strings.Join(names, ",") != "a:cpa0,b:cpb0" {
		t.Fatalf("interface names %q", names)
	}
	if len(recs) != 2*n || st.Packets != 2*n {
		t.Fatalf("%d packets in the file, Stats.Packets %d; want %d", len(recs), st.Packets, 2*n)
	}
	first := map[int]string{}
	for i, r := range recs {
		if i > 0 && r.ts.Before(recs[i-1].ts) {
			t.Errorf("packet %d (%s) at %v is older than packet %d at %v", i, r.iface, r.ts, i-1, recs[i-1].ts)
		}
		if _, ok := first[r.seq]; !ok {
			first[r.seq] = r.iface
		}
	}
	for i := range n {
		if first[i] != "a:cpa0" {
			t.Errorf("datagram %d: first seen on %q, want a:cpa0", i, first[i])
		}
	}
	for _, e := range st.Endpoints {
		if e.Captured != n || e.Dropped != 0 || e.Ended != "" {
			t.Errorf("%s: %+v, want %d captured, none dropped", e.Name, e, n)
		}
	}
}

// Cancelling (what SIGINT does) ends with a valid file holding every
// packet sent before, and a statistics block per interface.
func TestCaptureCancelKeepsEverything(t *testing.T) {
	nstest.CheckLeaks(t, "cpa0")
	p := newPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	buf, done, _ := captureAsync(t, ctx, endpoints(p)[:1], Options{})
	p.send(t, 0, 7)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	_, recs, r := readFile(t, buf.Bytes())
	if len(recs) != 7 {
		t.Fatalf("%d packets, want 7", len(recs))
	}
	intf, _ := r.Interface(0)
	if intf.Statistics.PacketsDropped != 0 || intf.Statistics.PacketsReceived != 7 {
		t.Errorf("statistics block: %+v, want 7 received, 0 dropped", intf.Statistics)
	}
}

// Count stops after exactly that many packets; Duration stops an idle capture.
func TestCaptureCountAndDuration(t *testing.T) {
	nstest.CheckLeaks(t, "cpa0")
	p := newPair(t)
	buf, done, _ := captureAsync(t, context.Background(), endpoints(p)[:1], Options{Count: 3})
	p.send(t, 0, 10)
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	if _, recs, _ := readFile(t, buf.Bytes()); len(recs) != 3 {
		t.Errorf("-c 3: %d packets", len(recs))
	}
	buf, done, _ = captureAsync(t, context.Background(), endpoints(p)[:1], Options{Duration: 100 * time.Millisecond})
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	if names, recs, _ := readFile(t, buf.Bytes()); len(recs) != 0 || len(names) != 1 {
		t.Errorf("--duration on an idle link: %d packets, interfaces %q", len(recs), names)
	}
}

// Snaplen truncates what is kept and records the length on the wire.
func TestCaptureSnaplen(t *testing.T) {
	nstest.CheckLeaks(t, "cpa0")
	p := newPair(t)
	buf, done, _ := captureAsync(t, context.Background(), endpoints(p)[:1], Options{Count: 1, Snaplen: 20})
	p.send(t, 0, 1)
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 20 || ci.Length != 14+20+8+4 {
		t.Errorf("kept %d bytes of %d, want 20 of 46", len(data), ci.Length)
	}
}

// A namespace that goes away ends its endpoint with a reason; the other
// endpoint goes on and the file stays valid.
func TestCaptureEndpointGoesAway(t *testing.T) {
	nstest.CheckLeaks(t, "cpa0")
	p := newPair(t)
	// Capture through a bind mount of b's namespace, as leolab registers nodes.
	dir := t.TempDir()
	mnt := dir + "/ns"
	if err := os.WriteFile(mnt, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bindMount(p.b.Path, mnt); err != nil {
		t.Fatalf("bind netns: %v", err)
	}
	t.Cleanup(func() { unmount(mnt) })
	eps := endpoints(p)
	eps[1].Netns = mnt
	var msgs []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := make(chan struct{})
	buf, done, st := captureAsync(t, ctx, eps, Options{Notify: func(m string) { msgs = append(msgs, m); close(gone) }})
	p.send(t, 0, 5)
	if err := unmount(mnt); err != nil {
		t.Fatal(err)
	}
	<-gone
	p.send(t, 5, 8)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("capture: %v", err)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "b:cpb0") || !strings.Contains(msgs[0], "went away") {
		t.Errorf("messages %q, want one naming b:cpb0 and saying it went away", msgs)
	}
	_, recs, _ := readFile(t, buf.Bytes())
	count := map[string]int{}
	for _, r := range recs {
		count[r.iface]++
	}
	if count["a:cpa0"] != 8 || count["b:cpb0"] != 5 {
		t.Errorf("packets per interface %v, want a:cpa0 8, b:cpb0 5", count)
	}
	if st.Endpoints[1].Ended == "" || st.Endpoints[0].Ended != "" {
		t.Errorf("endpoints %+v: want only b ended", st.Endpoints)
	}
}

func TestCaptureBadEndpoint(t *testing.T) {
	nstest.CheckLeaks(t, "cpa0")
	p := newPair(t)
	_, err := Run(context.Background(), []Endpoint{{Name: "a:nope0", Netns: p.a.Path, Dev: "nope0"}}, io.Discard, Options{})
	if err == nil || !strings.Contains(err.Error(), "a:nope0") || !strings.Contains(err.Error(), "no interface nope0") {
		t.Errorf("err = %v, want it to name a:nope0 and the missing interface", err)
	}
}
