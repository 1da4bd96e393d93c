package ipam

import (
	"net/netip"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func TestNewPool(t *testing.T) {
	cases := []struct {
		pool, err, links string
	}{
		{"172.20.0.0/16", "", "172.20.240.0/20"},
		{"10.0.0.0/8", "", "10.255.240.0/20"},
		{"192.168.0.0/19", "", "192.168.16.0/20"},
		{"192.168.0.0/20", "pool 192.168.0.0/20 is too small: need /19 or larger (its top /20 is kept for links)", ""},
		{"172.20.1.0/16", "pool 172.20.1.0/16 has host bits set (did you mean 172.20.0.0/16?)", ""},
		{"fd00::/48", "pool fd00::/48 is not an IPv4 prefix", ""},
		{"0.0.0.0/0", "pool 0.0.0.0/0 is too large: /8 or smaller", ""},
	}
	for _, tc := range cases {
		p, err := NewPool(pfx(tc.pool))
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("NewPool(%s) error %v, want %q", tc.pool, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("NewPool(%s): %v", tc.pool, err)
		case tc.err == "" && p.LinkArea() != pfx(tc.links):
			t.Errorf("NewPool(%s) link area %s, want %s", tc.pool, p.LinkArea(), tc.links)
		}
	}
}

func TestBridgeSubnets(t *testing.T) {
	p, _ := NewPool(DefaultPool)
	var used Set
	used.Add(pfx("172.20.2.0/24"))  // a static bridge of this lab
	used.Add(pfx("172.20.3.64/26")) // a host route
	used.Add(pfx("172.20.16.0/20")) // another lab
	used.Add(pfx("172.20.0.0/24"))  // below x.x.1.0 anyway
	want := []string{"172.20.1.0/24", "172.20.4.0/24", "172.20.5.0/24"}
	for i, w := range want {
		s, err := p.BridgeSubnet(&used, "b")
		if err != nil || s != pfx(w) {
			t.Fatalf("bridge %d: %s %v, want %s", i, s, err, w)
		}
		used.Add(s)
	}
	// Skipping 172.20.16.0/20 and continuing above it.
	for i := 6; i < 16; i++ {
		s, _ := p.BridgeSubnet(&used, "b")
		used.Add(s)
	}
	if s, _ := p.BridgeSubnet(&used, "b"); s != pfx("172.20.32.0/24") {
		t.Errorf("after the gap: %s", s)
	}
}

func TestBridgeSubnetsExhausted(t *testing.T) {
	p, _ := NewPool(pfx("10.1.0.0/19"))
	var used Set
	for i := 0; i < 15; i++ {
		s, err := p.BridgeSubnet(&used, "b")
		if err != nil {
			t.Fatalf("bridge %d: %v", i, err)
		}
		if p.LinkArea().Overlaps(s) {
			t.Fatalf("bridge subnet %s inside the link area", s)
		}
		used.Add(s)
	}
	_, err := p.BridgeSubnet(&used, "lan")
	if err == nil || err.Error() != "pool 10.1.0.0/19 has no free /24 for bridge lan" {
		t.Errorf("error %v", err)
	}
}

func TestLinkSubnets(t *testing.T) {
	p, _ := NewPool(DefaultPool)
	var used Set
	used.Add(pfx("172.20.240.4/30"))
	used.Add(pfx("172.20.240.16/29"))
	var got []netip.Prefix
	for i := 0; i < 4; i++ {
		s, err := p.LinkSubnet(&used, "a:e-b:e")
		if err != nil {
			t.Fatal(err)
		}
		used.Add(s)
		got = append(got, s)
	}
	want := []netip.Prefix{pfx("172.20.240.0/30"), pfx("172.20.240.8/30"), pfx("172.20.240.12/30"), pfx("172.20.240.24/30")}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("link %d: %s, want %s", i, got[i], want[i])
		}
	}
	used.Add(p.LinkArea())
	if _, err := p.LinkSubnet(&used, "a:e-b:e"); err == nil || err.Error() != "pool 172.20.0.0/16 has no free /30 in 172.20.240.0/20 for link a:e-b:e" {
		t.Errorf("error %v", err)
	}
}

func TestLinkAreaAtTopOfIPv4(t *testing.T) {
	p, err := NewPool(pfx("255.0.0.0/8"))
	if err != nil {
		t.Fatal(err)
	}
	var used Set
	used.Add(pfx("255.255.240.0/21"))
	used.Add(pfx("255.255.248.0/22"))
	used.Add(pfx("255.255.252.0/23"))
	used.Add(pfx("255.255.254.0/24"))
	used.Add(pfx("255.255.255.0/25"))
	used.Add(pfx("255.255.255.128/26"))
	used.Add(pfx("255.255.255.192/27"))
	used.Add(pfx("255.255.255.224/28"))
	used.Add(pfx("255.255.255.240/29"))
	used.Add(pfx("255.255.255.248/30"))
	if s, err := p.LinkSubnet(&used, "l"); err != nil || s != pfx("255.255.255.252/30") {
		t.Errorf("last /30: %s %v", s, err)
	}
	used.Add(pfx("255.255.255.252/30"))
	if _, err := p.LinkSubnet(&used, "l"); err == nil {
		t.Error("no error past the end of IPv4")
	}
}

func TestSetOverlapping(t *testing.T) {
	var s Set
	s.Add(pfx("10.1.0.0/16"))
	s.Add(pfx("10.2.3.0/24"))
	s.Add(pfx("10.2.3.0/24"))
	s.Add(pfx("fd00::/64"))
	if s.Len() != 3 {
		t.Errorf("Len = %d, want 3", s.Len())
	}
	for _, tc := range []struct{ p, want string }{
		{"10.1.2.0/24", "10.1.0.0/16"}, // inside a used prefix
		{"10.0.0.0/8", "10.1.0.0/16"},  // contains used prefixes: the first added
		{"10.2.3.4/30", "10.2.3.0/24"},
		{"10.2.0.0/16", "10.2.3.0/24"},
		{"10.3.0.0/16", ""},
		{"10.2.4.0/24", ""},
		{"fd00::/64", "fd00::/64"}, // IPv6 is held too
		{"fd00::1:0/112", "fd00::/64"},
		{"fd00:0:0:1::/64", ""},
		{"::ffff:10.1.0.0/112", ""}, // IPv4-mapped: never the IPv4 prefix
	} {
		q, ok := s.Overlapping(pfx(tc.p))
		if (tc.want == "" && ok) || (tc.want != "" && (!ok || q != pfx(tc.want))) {
			t.Errorf("Overlapping(%s) = %s %v, want %q", tc.p, q, ok, tc.want)
		}
	}
}

func TestHosts(t *testing.T) {
	h := NewHosts(pfx("10.0.0.0/29"))
	if err := h.Reserve(Gateway(h.Subnet()), "gateway"); err != nil {
		t.Fatal(err)
	}
	if err := h.Reserve(addr("10.0.0.3"), "a"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ a, err string }{
		{"10.0.0.3", "10.0.0.3 is already used by a"},
		{"10.0.0.1", "10.0.0.1 is already used by gateway"},
		{"10.0.0.0", "10.0.0.0 is the network address of 10.0.0.0/29"},
		{"10.0.0.7", "10.0.0.7 is the broadcast address of 10.0.0.0/29"},
		{"10.0.0.8", "10.0.0.8 is outside 10.0.0.0/29"},
	} {
		if err := h.Reserve(addr(tc.a), "x"); err == nil || err.Error() != tc.err {
			t.Errorf("Reserve(%s) = %v, want %q", tc.a, err, tc.err)
		}
	}
	var got []string
	for {
		a, err := h.Next("n")
		if err != nil {
			if err.Error() != "subnet 10.0.0.0/29 has no free address for n" {
				t.Errorf("error %v", err)
			}
			break
		}
		got = append(got, a.String())
	}
	if want := "[10.0.0.2 10.0.0.4 10.0.0.5 10.0.0.6]"; fmtList(got) != want {
		t.Errorf("Next gave %v, want %s", got, want)
	}
}

func TestHostArithmetic(t *testing.T) {
	p := pfx("172.20.240.4/30")
	if Network(p) != addr("172.20.240.4") || Broadcast(p) != addr("172.20.240.7") || Gateway(p) != addr("172.20.240.5") {
		t.Errorf("network %s broadcast %s gateway %s", Network(p), Broadcast(p), Gateway(p))
	}
	if a, ok := Host(p, 2); !ok || a != addr("172.20.240.6") {
		t.Errorf("Host 2 = %s %v", a, ok)
	}
	if _, ok := Host(p, 3); ok {
		t.Error("a /30 has a third host")
	}
	if _, ok := Host(p, 0); ok {
		t.Error("host 0 is the network")
	}
}

func fmtList(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
