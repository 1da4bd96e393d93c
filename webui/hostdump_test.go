package webui

import (
	"testing"

	"github.com/vishvananda/netlink"

	"leolab/internal/nstest"
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
