package bridge

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"leolab/topology"
)

func TestSplitRule(t *testing.T) {
	got := splitRule(`-A POSTROUTING -m comment --comment "leolab:a b" -j LEOLAB-x`)
	want := []string{"-A", "POSTROUTING", "-m", "comment", "--comment", "leolab:a b", "-j", "LEOLAB-x"}
	if !slices.Equal(got, want) {
		t.Fatalf("splitRule: %q", got)
	}
	if !jumpsTo(got, "LEOLAB-x") || jumpsTo(got, "LEOLAB-y") {
		t.Error("jumpsTo")
	}
}

func TestNetemRoundTrip(t *testing.T) {
	n := &topology.Netem{Delay: 20 * time.Millisecond, Jitter: 2 * time.Millisecond, LossPct: 1,
		Duplicate: 0.5, Corrupt: 0.1, Reorder: 25}
	q := netlink.NewNetem(netlink.QdiscAttrs{}, netemAttrs(n))
	if got := fromNetem(q); *got != *n {
		t.Errorf("round trip: %+v, want %+v", got, n)
	}
}

func TestToRoute(t *testing.T) {
	r := toRoute(topology.Route{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.0.1")})
	if r.Dst != nil || r.Gw.String() != "10.0.0.1" {
		t.Errorf("default route: %+v", r)
	}
	r = toRoute(topology.Route{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.1")})
	if r.Dst.String() != "10.9.0.0/16" {
		t.Errorf("route: %+v", r)
	}
}

func TestIPTablesPathEnv(t *testing.T) {
	t.Setenv(IPTablesEnv, "bogus")
	if _, err := IPTablesPath(); err == nil {
		t.Error("relative bogus backend accepted")
	}
}

// TestNATBridges: NAT takes the nat bridges, NAT66 those of them with an
// IPv6 subnet, both in plan order.
func TestNATBridges(t *testing.T) {
	v6 := netip.MustParsePrefix("fd00::/64")
	bs := []topology.Bridge{
		{Device: "a", NAT: true},
		{Device: "b", Subnet6: v6},
		{Device: "c", NAT: true, Subnet6: v6},
		{Device: "d", NAT: true},
	}
	devices := func(bs []topology.Bridge) string {
		var out string
		for _, b := range bs {
			out += b.Device
		}
		return out
	}
	if got := devices(NATBridges(bs)); got != "acd" {
		t.Errorf("NATBridges = %s, want acd", got)
	}
	if got := devices(NAT6Bridges(bs)); got != "c" {
		t.Errorf("NAT6Bridges = %s, want c", got)
	}
}
