package webui

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"leolab/bridge"
	"leolab/internal/nstest"
	"leolab/topology"
)

// readHost's own parser agrees with the netlink library on the host's
// links (names, state, counters).
func TestReadHostMatchesLinkList(t *testing.T) {
	nstest.RequireRoot(t) // netlink dumps of the host
	got := readHost()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		a := l.Attrs()
		li, ok := got[a.Name]
		if !ok {
			// Other tests may add links meanwhile; lo is always there.
			if a.Name == "lo" {
				t.Errorf("%s missing", a.Name)
			}
			continue
		}
		if li.st.Oper != a.OperState.String() && a.Name == "lo" {
			t.Errorf("%s: oper %q, want %q", a.Name, li.st.Oper, a.OperState.String())
		}
		// Read before the library's dump: never ahead of it, and a packet
		// is at least a byte.
		if s := a.Statistics; s != nil && (li.c.rxP > s.RxPackets || li.c.txP > s.TxPackets ||
			li.c.rxB > s.RxBytes || li.c.txB > s.TxBytes || li.c.rxB < li.c.rxP || li.c.txB < li.c.txP) {
			t.Errorf("%s: counters %+v against %+v", a.Name, li.c, *s)
		}
	}
}

// hostLinks, which dumps once and then follows events, sees a link
// appear, go down, get an impairment, lose it and go away as a full dump
// does.
func TestHostLinksFollowEvents(t *testing.T) {
	nstest.RequireRoot(t)
	h := newHostLinks()
	defer h.close()
	// Subscribed and synced before the link exists; a fallback to full
	// dumps would make every comparison below one of a dump with itself.
	if _, following := h.read().(*hostLinks); !following || !h.synced {
		t.Fatal("hostLinks does not follow events (no event socket, no counters or no whole dump)")
	}
	name := fmt.Sprintf("uit%d", os.Getpid()%1000000)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	defer netlink.LinkDel(veth)
	for _, n := range []string{name, name + "p"} {
		if err := bridge.SetLinkUp("", n, true); err != nil {
			t.Fatal(err)
		}
	}
	// The kernel sets a link's operational state a moment after its flags
	// (linkwatch): wait for the dump to show the state wanted, then the
	// followed view must agree (a bound, not a measure).
	settle := func(what string, ok func(linkInfo) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			full := readHost()[name]
			table := h.read()
			if _, following := table.(*hostLinks); !following {
				t.Fatal("hostLinks fell back to full dumps")
			}
			got, _ := table.get(name)
			if ok(full) && full.st == got.st {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: followed %+v, dumped %+v", what, got.st, full.st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	settle("up", func(li linkInfo) bool { return li.st.Up })
	if err := bridge.SetLinkUp("", name+"p", false); err != nil { // the peer: carrier lost
		t.Fatal(err)
	}
	settle("peer down", func(li linkInfo) bool { return li.st.Oper != "" && !li.st.Up })
	// A rate (tbf) works on kernels without netem.
	if err := bridge.ApplyNetem("", name, &topology.Netem{RateBits: 1000000}); err != nil {
		t.Fatal(err)
	}
	settle("impaired", func(li linkInfo) bool { return li.st.Netem != "" })
	if err := bridge.ClearNetem("", name); err != nil {
		t.Fatal(err)
	}
	settle("impairment cleared", func(li linkInfo) bool { return li.st.Oper != "" && li.st.Netem == "" })
	if err := netlink.LinkDel(veth); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.read().get(name); ok {
		t.Errorf("%s still there once deleted", name)
	}
}

// The per-tick cost of reading the host's links: a full dump against
// counters only plus events. With a 1000-node lab deployed:
//
//	go test -run - -bench HostLinks ./webui/
func BenchmarkHostLinksFullDump(b *testing.B) {
	for b.Loop() {
		readHost()
	}
}

func BenchmarkHostLinksFollowed(b *testing.B) {
	h := newHostLinks()
	defer h.close()
	h.read()
	for b.Loop() {
		h.read()
	}
}
