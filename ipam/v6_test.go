package ipam

import (
	"crypto/sha256"
	"net/netip"
	"testing"
)

func TestDefaultPool6IsDerived(t *testing.T) {
	sum := sha256.Sum256([]byte("leolab"))
	var b [16]byte
	b[0] = 0xfd
	copy(b[1:6], sum[:5])
	if want := netip.PrefixFrom(netip.AddrFrom16(b), 48); DefaultPool6 != want {
		t.Errorf("DefaultPool6 = %s, want %s (fd + SHA-256(leolab)[:5])", DefaultPool6, want)
	}
}

func TestNewPool6(t *testing.T) {
	for _, tc := range []struct{ pool, err string }{
		{"fde3:6868:8a47::/48", ""},
		{"2001:db8::/32", ""},
		{"fd00::/62", ""},
		{"fd00::/63", "pool fd00::/63 is too small: need /62 or larger (bridges take its lower half, links its upper half)"},
		{"fd00::1/48", "pool fd00::1/48 has host bits set (did you mean fd00::/48?)"},
		{"10.0.0.0/8", "pool 10.0.0.0/8 is not an IPv6 prefix"},
		{"fe80::/48", "pool fe80::/48 is not a unicast range"},
		{"ff00::/8", "pool ff00::/8 is not a unicast range"},
		{"::/0", "pool ::/0 is too large: /8 or smaller"},
	} {
		_, err := NewPool6(pfx(tc.pool))
		if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
			t.Errorf("NewPool6(%s) = %v, want %q", tc.pool, err, tc.err)
		}
	}
}

func TestPool6Subnets(t *testing.T) {
	p, err := NewPool6(DefaultPool6)
	if err != nil {
		t.Fatal(err)
	}
	var used Set
	used.Add(pfx("fde3:6868:8a47:2::/64"))      // a static bridge
	used.Add(pfx("fde3:6868:8a47:3::/63"))      // a host route (covers :2 and :3)
	used.Add(pfx("fde3:6868:8a47:8000::1/128")) // a host route inside the first link /64
	var got []string
	for _, take := range []func(*Set, string) (netip.Prefix, error){p.BridgeSubnet, p.BridgeSubnet, p.LinkSubnet, p.LinkSubnet} {
		s, err := take(&used, "x")
		if err != nil {
			t.Fatal(err)
		}
		used.Add(s)
		got = append(got, s.String())
	}
	want := "[fde3:6868:8a47:1::/64 fde3:6868:8a47:4::/64 fde3:6868:8a47:8001::/64 fde3:6868:8a47:8002::/64]"
	if fmtList(got) != want {
		t.Errorf("subnets %v, want %s", got, want)
	}
}

func TestPool6Exhausted(t *testing.T) {
	p, _ := NewPool6(pfx("fd00::/62")) // 4 /64s: bridge :1, links :2 and :3
	var used Set
	s, err := p.BridgeSubnet(&used, "a")
	if err != nil || s != pfx("fd00:0:0:1::/64") {
		t.Fatalf("bridge %s %v", s, err)
	}
	used.Add(s)
	if _, err := p.BridgeSubnet(&used, "b"); err == nil || err.Error() != "pool fd00::/62 has no free /64 for bridge b" {
		t.Errorf("second bridge: %v", err)
	}
	for _, w := range []string{"fd00:0:0:2::/64", "fd00:0:0:3::/64"} {
		s, err := p.LinkSubnet(&used, "l")
		if err != nil || s != pfx(w) {
			t.Fatalf("link %s %v, want %s", s, err, w)
		}
		used.Add(s)
	}
	if _, err := p.LinkSubnet(&used, "x:e-y:e"); err == nil || err.Error() != "pool fd00::/62 has no free /64 for link x:e-y:e" {
		t.Errorf("third link: %v", err)
	}
}

func TestHosts6(t *testing.T) {
	h := NewHosts6(pfx("fd00:1::/64"))
	if err := h.Reserve(Gateway6(h.Subnet()), "gateway"); err != nil {
		t.Fatal(err)
	}
	if err := h.Reserve(addr("fd00:1::3"), "a"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ a, err string }{
		{"fd00:1::3", "fd00:1::3 is already used by a"},
		{"fd00:1::1", "fd00:1::1 is already used by gateway"},
		{"fd00:1::", "fd00:1:: is the subnet-router anycast address of fd00:1::/64"},
		{"fd00:1::ffff:ffff:ffff:ff80", "fd00:1::ffff:ffff:ffff:ff80 is one of the reserved anycast addresses at the top of fd00:1::/64 (RFC 2526)"},
		{"fd00:2::1", "fd00:2::1 is outside fd00:1::/64"},
		{"10.0.0.1", "10.0.0.1 is outside fd00:1::/64"},
	} {
		if err := h.Reserve(addr(tc.a), "x"); err == nil || err.Error() != tc.err {
			t.Errorf("Reserve(%s) = %v, want %q", tc.a, err, tc.err)
		}
	}
	if err := h.Reserve(addr("fd00:1::ffff:ffff:ffff:ff7f"), "top"); err != nil {
		t.Errorf("the last unreserved address: %v", err)
	}
	var got []string
	for range 3 {
		a, err := h.Next("n")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if want := "[fd00:1::2 fd00:1::4 fd00:1::5]"; fmtList(got) != want {
		t.Errorf("Next gave %v, want %s", got, want)
	}
}

func TestHosts6Exhausted(t *testing.T) {
	h := NewHosts6(pfx("fd00::/126")) // ::0 anycast, ::1 gateway, ::2 ::3
	_ = h.Reserve(Gateway6(h.Subnet()), "gw")
	var got []string
	for {
		a, err := h.Next("n")
		if err != nil {
			if err.Error() != "subnet fd00::/126 has no free address for n" {
				t.Errorf("error %v", err)
			}
			break
		}
		got = append(got, a.String())
	}
	if want := "[fd00::2 fd00::3]"; fmtList(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestLinkHosts6(t *testing.T) {
	for _, tc := range []struct{ p, a, b string }{
		{"fd00:8000::/64", "fd00:8000::1", "fd00:8000::2"},
		{"fd00::a/127", "fd00::a", "fd00::b"},
		{"fd00::8/126", "fd00::9", "fd00::a"},
	} {
		a, b := LinkHosts6(pfx(tc.p))
		if a.String() != tc.a || b.String() != tc.b {
			t.Errorf("LinkHosts6(%s) = %s %s, want %s %s", tc.p, a, b, tc.a, tc.b)
		}
	}
	if why := Reserved6(pfx("fd00::a/127"), addr("fd00::a")); why != "" {
		t.Errorf("a /127's first address is a host (RFC 6164): %s", why)
	}
}
