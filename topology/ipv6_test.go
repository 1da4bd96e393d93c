package topology

import (
	"fmt"
	"strings"
	"testing"
)

const dualStack = `
name: t
ipv6: true
bridges:
  a: {}
  b: {subnet6: fd00:b::/64}
  c: {subnet6: none}
  d: {gateway: false}
nodes:
  n1:
    interfaces:
      eth0: a
      eth1: {bridge: b, ipv6: fd00:b::10}
      eth2: c
    gateway6: a
  n2:
    interfaces:
      eth0: {bridge: a, ipv6: none}
      eth1: b
      eth2: d
    routes:
      - {to: "fd00:99::/48", via: n1}
      - {to: "2001:db8::/32", via: "fd00:b::10"}
      - {to: 10.9.0.0/16, via: n1}
links:
  - endpoints: [n1:l0, n2:l0]
  - endpoints: [n1:l1, n2:l1]
    subnet6: fd00:c::a/127
  - endpoints: [n1:l2, n2:l2]
    subnet6: none
`

func TestDualStackPlan(t *testing.T) {
	p := mustParse(t, dualStack, Options{})
	if !p.IPv6 || p.Pool6.String() != "fde3:6868:8a47::/48" {
		t.Errorf("ipv6 %v pool6 %s", p.IPv6, p.Pool6)
	}
	var got []string
	for _, b := range p.Bridges {
		got = append(got, fmt.Sprintf("%s=%s/%s", b.Name, b.Subnet6, b.Gateway6))
	}
	for _, l := range p.Links {
		got = append(got, fmt.Sprintf("%s-%s=%s", l.Endpoints[0], l.Endpoints[1], l.Subnet6))
	}
	for _, n := range p.Nodes {
		for _, ifc := range n.Interfaces {
			got = append(got, fmt.Sprintf("%s:%s=%s", n.Name, ifc.Name, ifc.IPv6))
		}
		for _, r := range n.Routes {
			got = append(got, fmt.Sprintf("%s:%s>%s", n.Name, r.To, r.Via))
		}
	}
	want := []string{
		"a=fde3:6868:8a47:1::/64/fde3:6868:8a47:1::1",
		"b=fd00:b::/64/fd00:b::1",
		"c=invalid Prefix/invalid IP",
		"d=fde3:6868:8a47:2::/64/invalid IP", // gateway: false: no ::1
		"n1:l0-n2:l0=fde3:6868:8a47:8000::/64",
		"n1:l1-n2:l1=fd00:c::a/127",
		"n1:l2-n2:l2=invalid Prefix",
		"n1:eth0=fde3:6868:8a47:1::2/64",
		"n1:eth1=fd00:b::10/64",
		"n1:eth2=invalid Prefix",
		"n1:l0=fde3:6868:8a47:8000::1/64",
		"n1:l1=fd00:c::a/127",
		"n1:l2=invalid Prefix",
		"n1:::/0>fde3:6868:8a47:1::1",
		"n2:eth0=invalid Prefix",
		"n2:eth1=fd00:b::2/64",
		"n2:eth2=fde3:6868:8a47:2::2/64",
		"n2:l0=fde3:6868:8a47:8000::2/64",
		"n2:l1=fd00:c::b/127",
		"n2:l2=invalid Prefix",
		"n2:fd00:99::/48>fd00:b::10", // n1's address on the first IPv6 subnet both share
		"n2:2001:db8::/32>fd00:b::10",
		"n2:10.9.0.0/16>172.20.1.2",
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("plan:\n%s\nwant:\n%s", g, w)
	}
	// IPv4 is what it was without IPv6.
	if p.Nodes[0].Interfaces[0].IPv4.String() != "172.20.1.2/24" || p.Links[0].Subnet.String() != "172.20.240.0/30" {
		t.Errorf("IPv4 changed: %s %s", p.Nodes[0].Interfaces[0].IPv4, p.Links[0].Subnet)
	}
}

func TestIPv6OffByDefault(t *testing.T) {
	p := mustParse(t, threeBridges, Options{})
	if p.IPv6 || p.Pool6.IsValid() {
		t.Errorf("ipv6 %v pool6 %s", p.IPv6, p.Pool6)
	}
	for _, b := range p.Bridges {
		if b.Subnet6.IsValid() || b.Gateway6.IsValid() {
			t.Errorf("bridge %s has IPv6 %s %s", b.Name, b.Subnet6, b.Gateway6)
		}
	}
	for _, n := range p.Nodes {
		if n.HasIPv6() {
			t.Errorf("node %s has IPv6", n.Name)
		}
	}
}

func TestStaticSubnet6WithoutSwitch(t *testing.T) {
	p := mustParse(t, `
name: t
bridges:
  lan: {subnet6: "fd00:1::/64", nat: true}
  v4: {}
nodes:
  h: {interfaces: {eth0: lan, eth1: v4}}
`, Options{})
	h := p.Nodes[0]
	if h.Interfaces[0].IPv6.String() != "fd00:1::2/64" || h.Interfaces[1].IPv6.IsValid() {
		t.Errorf("interfaces %+v", h.Interfaces)
	}
	var routes []string
	for _, r := range h.Routes {
		routes = append(routes, r.To.String()+">"+r.Via.String())
	}
	if got := strings.Join(routes, " "); got != "0.0.0.0/0>172.20.1.1 ::/0>fd00:1::1" {
		t.Errorf("routes %s, want both nat default routes", got)
	}
}

func TestIPv6PoolSkipsHostAndOtherLabs(t *testing.T) {
	host := fakeHost{used: prefixes("fde3:6868:8a47:1::/64", "fde3:6868:8a47:8000::/63", "fe80::/64", "::1/128", "ff00::/8")}
	p := mustParse(t, "name: t\nipv6: true\nbridges: {a: {}}\nnodes:\n  x: {}\n  y: {}\nlinks:\n  - endpoints: [x:e, y:e]\n", Options{Host: host})
	if p.Bridges[0].Subnet6.String() != "fde3:6868:8a47:2::/64" || p.Links[0].Subnet6.String() != "fde3:6868:8a47:8002::/64" {
		t.Errorf("bridge %s link %s", p.Bridges[0].Subnet6, p.Links[0].Subnet6)
	}
}

func TestIPv6Pool(t *testing.T) {
	p := mustParse(t, "name: t\nipv6: true\nipv6_pool: 2001:db8:5::/48\nbridges: {a: {}}\n", Options{})
	if p.Bridges[0].Subnet6.String() != "2001:db8:5:1::/64" || p.Pool6.String() != "2001:db8:5::/48" {
		t.Errorf("subnet6 %s pool %s", p.Bridges[0].Subnet6, p.Pool6)
	}
}

var ipv6Cases = []struct {
	name, src string
	host      []string
	want      []string
}{
	{"pool", `
name: t
ipv6: true
ipv6_pool: 10.0.0.0/8
`, nil, []string{
		`testdata/t.yaml:3:12: ipv6_pool "10.0.0.0/8" is not an IPv6 prefix like fd00:1::/48`,
	}},
	{"pool host bits", `
name: t
ipv6: true
ipv6_pool: fd00::1/48
`, nil, []string{
		`testdata/t.yaml:3:12: ipv6_pool: pool fd00::1/48 has host bits set (did you mean fd00::/48?)`,
	}},
	{"pool without switch", `
name: t
ipv6_pool: fd00::/48
`, nil, []string{
		`testdata/t.yaml:2:12: ipv6_pool is used only with ipv6: true (automatic IPv6 subnets)`,
	}},
	{"subnets", `
name: t
bridges:
  a: {subnet6: 10.0.0.0/24}
  b: {subnet6: "fd00::1/64"}
  c: {subnet6: "fe80::/64"}
  d: {subnet6: "fd00::/127"}
  e: {subnet6: banana}
links:
  - {endpoints: [x:e, y:e], subnet6: "fd00:1::/128"}
nodes: {x: {}, y: {}}
`, nil, []string{
		`testdata/t.yaml:3:16: subnet6 10.0.0.0/24 is not IPv6`,
		`testdata/t.yaml:4:16: subnet6 fd00::1/64 has host bits set (did you mean fd00::/64?)`,
		`testdata/t.yaml:5:16: subnet6 fe80::/64 is not a unicast range (link-local addresses are automatic)`,
		`testdata/t.yaml:6:16: subnet6 fd00::/127 is too small: it needs to be /126 or larger`,
		`testdata/t.yaml:7:16: subnet6 "banana" is not an IPv6 prefix like fd00:1::/64 or none`,
		`testdata/t.yaml:9:38: subnet6 fd00:1::/128 is too small: it needs to be /127 or larger`,
	}},
	{"overlaps", `
name: t
bridges:
  a: {subnet6: "fd00:1::/64"}
  b: {subnet6: "fd00:1::/48"}
  c: {subnet6: "fd00:9::/64"}
links:
  - {endpoints: [x:e, y:e], subnet6: "fd00:1::4/127"}
nodes: {x: {}, y: {}}
`, []string{"fd00:9::/56"}, []string{
		`testdata/t.yaml:4:16: subnet fd00:1::/48 of bridge b overlaps fd00:1::/64 (bridge a)`,
		`testdata/t.yaml:7:38: subnet fd00:1::4/127 of link x:e-y:e overlaps fd00:1::/48 (bridge b)`,
	}},
	// The host is only consulted for a file without errors (Resolve after
	// Decode), so its overlaps are a case of their own.
	{"overlaps the host", `
name: t
bridges:
  a: {subnet6: "fd00:1::/64"}
  c: {subnet6: "fd00:9::/64"}
`, []string{"fd00:9::/56"}, []string{
		`testdata/t.yaml:4:16: subnet fd00:9::/64 of bridge c overlaps fd00:9::/56 (a route or another lab on the host)`,
	}},
	{"addresses", `
name: t
bridges:
  a: {subnet6: "fd00:1::/64"}
  v4: {}
  no: {subnet6: none}
nodes:
  x:
    interfaces:
      e0: {bridge: a, ipv6: "fd00:2::5"}
      e1: {bridge: a, ipv6: "fd00:1::"}
      e2: {bridge: a, ipv6: "fd00:1::1"}
      e3: {bridge: a, ipv6: "fd00:1::5/80"}
      e4: {bridge: a, ipv6: "fd00:1::ffff:ffff:ffff:fffe"}
      e5: {bridge: a, ipv6: "172.20.1.9"}
      e6: {bridge: v4, ipv6: "fd00:3::2"}
      e7: {bridge: no, ipv6: "fd00:3::2"}
      e8: {bridge: a, ipv6: "fd00:1::7"}
  y:
    interfaces:
      e0: {bridge: a, ipv6: "fd00:1::7/64"}
`, nil, []string{
		`testdata/t.yaml:9:29: ipv6 of x:e0 on bridge a: fd00:2::5 is outside fd00:1::/64`,
		`testdata/t.yaml:10:29: ipv6 of x:e1 on bridge a: fd00:1:: is the subnet-router anycast address of fd00:1::/64`,
		`testdata/t.yaml:11:29: ipv6 of x:e2 on bridge a: fd00:1::1 is already used by the gateway of bridge a`,
		`testdata/t.yaml:12:29: ipv6 fd00:1::5/80 of x:e3 must have the prefix length of bridge a (fd00:1::/64)`,
		`testdata/t.yaml:13:29: ipv6 of x:e4 on bridge a: fd00:1::ffff:ffff:ffff:fffe is one of the reserved anycast addresses at the top of fd00:1::/64 (RFC 2526)`,
		`testdata/t.yaml:14:29: ipv6 "172.20.1.9" is not an IPv6 address like fd00:1::10/64 or none`,
		`testdata/t.yaml:15:30: ipv6 of x:e6: bridge v4 has no IPv6 subnet (give it a subnet6, or set ipv6: true at the top of the file)`,
		`testdata/t.yaml:16:30: ipv6 of x:e7: bridge no has subnet6: none`,
		`testdata/t.yaml:20:29: ipv6 of y:e0 on bridge a: fd00:1::7 is already used by x:e8`,
	}},
	{"routes", `
name: t
bridges:
  a: {subnet6: "fd00:1::/64"}
  v4: {gateway: false}
nodes:
  x:
    interfaces: {e0: a, e1: v4}
    gateway6: v4
    routes:
      - {to: "fd00:9::/64", via: 172.20.1.1}
      - {to: "fd00:8::/64", via: "fd00:1::2"}
      - {to: "fd00:7::/64", via: "fd00:2::1"}
      - {to: "fd00:6::/64", via: "fe80::1"}
      - {to: "fd00:5::/64", via: z}
      - {to: "fd00:4::/64", via: y}
      - {to: "fd00:3::/64", via: "fd00:1::"}
      - {to: 10.1.0.0/16, via: "fd00:1::3"}
      - {to: "fd00:4::/64", via: a}
  y: {interfaces: {e0: v4}}
  z: {interfaces: {e0: {bridge: a, ipv6: none}}}
`, nil, []string{
		`testdata/t.yaml:8:15: gateway6 v4: bridge v4 has no IPv6 gateway (no subnet6, or gateway: false)`,
		`testdata/t.yaml:10:34: via 172.20.1.1 is not IPv6 (an IPv6 route needs an IPv6 next hop)`,
		`testdata/t.yaml:11:34: via fd00:1::2 is x's own address`,
		`testdata/t.yaml:12:34: via fd00:2::1 is not on an IPv6 subnet x is attached to (fd00:1::/64)`,
		`testdata/t.yaml:13:34: via fe80::1 is link-local: write a node name or its address on the shared subnet6`,
		`testdata/t.yaml:14:34: via z: nodes x and z share no IPv6 subnet on which both have an address`,
		`testdata/t.yaml:15:34: via y: nodes x and y share no IPv6 subnet on which both have an address`,
		`testdata/t.yaml:16:34: via fd00:1:: is not a host address: fd00:1:: is the subnet-router anycast address of fd00:1::/64`,
		`testdata/t.yaml:17:32: via fd00:1::3 is not IPv4 (an IPv4 route needs an IPv4 next hop; IPv6 default routes are gateway6)`,
		`testdata/t.yaml:18:14: route to fd00:4::/64 is already set at line 15`,
	}},
}

func TestIPv6Validation(t *testing.T) {
	for _, tc := range ipv6Cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.host != nil {
				opts.Host = fakeHost{used: prefixes(tc.host...)}
			}
			got := strings.Join(errorsOf(t, strings.TrimPrefix(tc.src, "\n"), opts), "\n")
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// A dual-stack topology file read for its checks (leolab check FILE): its
// lab-wide IPv6 keys are part of the file, not unknown keys.
func TestParseChecksOfDualStackTopology(t *testing.T) {
	src := "name: t\nipv6: true\nipv6_pool: fd00::/48\nbridges: {a: {}}\nnodes:\n  x: {interfaces: {e: a}}\n  y: {interfaces: {e: a}}\nchecks:\n  - reach: {from: x, to: y}\n"
	plan := mustParse(t, src, Options{})
	checks, err := ParseChecks("testdata/t.yaml", []byte(src), plan)
	if err != nil || len(checks) != 1 {
		t.Fatalf("checks %+v, err %v", checks, err)
	}
}
