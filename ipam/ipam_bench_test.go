package ipam

import (
	"net/netip"
	"strconv"
	"testing"
)

// BenchmarkHostsNext1000 hands out 1000 addresses of one bridge subnet.
func BenchmarkHostsNext1000(b *testing.B) {
	subnet := netip.MustParsePrefix("172.20.0.0/22")
	for b.Loop() {
		h := NewHosts(subnet)
		for i := 0; i < 1000; i++ {
			if _, err := h.Next("n" + strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkLinkSubnets1000 allocates 1000 /30 link subnets, each committed
// to the used set before the next, as the planner does.
func BenchmarkLinkSubnets1000(b *testing.B) {
	for b.Loop() {
		pool, err := NewPool(netip.MustParsePrefix("172.20.0.0/16"))
		if err != nil {
			b.Fatal(err)
		}
		var used Set
		for i := 0; i < 1000; i++ {
			s, err := pool.LinkSubnet(&used, "l"+strconv.Itoa(i))
			if err != nil {
				b.Fatal(err)
			}
			used.Add(s)
		}
	}
}
