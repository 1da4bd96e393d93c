package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

type fakeHost struct {
	used  []netip.Prefix
	err   error
	uids  []UIDBlock
	netns map[string]string
	calls *int // counts every call, when set
}

func (h fakeHost) touch() {
	if h.calls != nil {
		*h.calls++
	}
}

func (h fakeHost) UsedSubnets() ([]netip.Prefix, error) { h.touch(); return h.used, h.err }
func (h fakeHost) UsedUIDs() ([]UIDBlock, error)        { h.touch(); return h.uids, nil }
func (h fakeHost) UsedNetns() (map[string]string, error) {
	h.touch()
	return h.netns, nil
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func mustParse(t *testing.T, src string, opts Options) *Plan {
	t.Helper()
	p, err := Parse("testdata/t.yaml", []byte(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func bridgeSubnets(p *Plan) []string {
	var out []string
	for _, b := range p.Bridges {
		out = append(out, b.Name+"="+b.Subnet.String())
	}
	return out
}

const threeBridges = `
name: t
bridges:
  a: {}
  b: {subnet: 172.20.2.0/24}
  c: {}
  d: {}
nodes:
  n1: {interfaces: {eth0: a, eth1: c}}
  n2: {interfaces: {eth0: a}}
  n3: {}
links:
  - endpoints: [n1:l0, n2:l0]
  - endpoints: [n2:l1, n3:l1]
    subnet: 172.20.240.4/30
  - endpoints: [n1:l2, n3:l2]
`

func TestIPAMDeterministic(t *testing.T) {
	host := fakeHost{used: prefixes("172.20.4.0/23", "10.0.0.0/8")}
	p1 := mustParse(t, threeBridges, Options{Host: host})
	p2 := mustParse(t, threeBridges, Options{Host: host})
	if !reflect.DeepEqual(p1, p2) {
		t.Fatal("the same file resolved twice gave different plans")
	}
}

func TestIPAMSkipsStaticAndHostSubnets(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want []string
	}{
		{"nothing on the host", Options{},
			[]string{"a=172.20.1.0/24", "b=172.20.2.0/24", "c=172.20.3.0/24", "d=172.20.4.0/24"}},
		{"host routes and other labs", Options{Host: fakeHost{used: prefixes("172.20.1.0/24", "172.20.3.128/25", "172.20.4.0/23", "0.0.0.0/0", "fd00::/64")}},
			[]string{"a=172.20.6.0/24", "b=172.20.2.0/24", "c=172.20.7.0/24", "d=172.20.8.0/24"}},
		{"isolated ignores the host", Options{Isolated: true, Host: fakeHost{used: prefixes("172.20.1.0/24")}},
			[]string{"a=172.20.1.0/24", "b=172.20.2.0/24", "c=172.20.3.0/24", "d=172.20.4.0/24"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, threeBridges, tc.opts)
			if got := bridgeSubnets(p); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("bridges %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIPAMLinksAndAddresses(t *testing.T) {
	p := mustParse(t, threeBridges, Options{Host: fakeHost{used: prefixes("172.20.240.0/30")}})
	var links []string
	for _, l := range p.Links {
		links = append(links, l.Subnet.String())
	}
	// the host holds .0/30 and link 2 is static .4/30: links 1 and 3 get .8 and .12
	if want := []string{"172.20.240.8/30", "172.20.240.4/30", "172.20.240.12/30"}; !reflect.DeepEqual(links, want) {
		t.Errorf("links %v, want %v", links, want)
	}
	got := map[string]string{}
	for _, n := range p.Nodes {
		for _, i := range n.Interfaces {
			got[n.Name+":"+i.Name] = i.IPv4.String()
		}
	}
	want := map[string]string{
		"n1:eth0": "172.20.1.2/24", "n1:eth1": "172.20.3.2/24", "n2:eth0": "172.20.1.3/24",
		"n1:l0": "172.20.240.9/30", "n2:l0": "172.20.240.10/30",
		"n2:l1": "172.20.240.5/30", "n3:l1": "172.20.240.6/30",
		"n1:l2": "172.20.240.13/30", "n3:l2": "172.20.240.14/30",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("addresses\n got %v\nwant %v", got, want)
	}
}

func TestIPAMStaticReservedFirst(t *testing.T) {
	p := mustParse(t, `
name: t
bridges: {lan: {subnet: 10.5.0.0/24}}
nodes:
  a: {interfaces: {eth0: lan}}
  b: {interfaces: {eth0: {bridge: lan, ipv4: 10.5.0.2}}}
  c: {interfaces: {eth0: lan}}
`, Options{})
	var got []string
	for _, n := range p.Nodes {
		got = append(got, n.Interfaces[0].IPv4.String())
	}
	if want := []string{"10.5.0.3/24", "10.5.0.2/24", "10.5.0.4/24"}; !reflect.DeepEqual(got, want) {
		t.Errorf("addresses %v, want %v", got, want)
	}
}

func TestIPAMStaticSubnetOverlapsHost(t *testing.T) {
	got := errorsOf(t, "name: t\nbridges:\n  lan: {subnet: 192.168.1.0/24}\n", Options{Host: fakeHost{used: prefixes("192.168.0.0/16")}})
	want := []string{"testdata/t.yaml:3:17: subnet 192.168.1.0/24 of bridge lan overlaps 192.168.0.0/16 (a route or another lab on the host)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestIPAMExhaustion(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\nipv4_pool: 10.0.0.0/19\nbridges:\n")
	for i := 1; i <= 16; i++ {
		fmt.Fprintf(&b, "  b%d: {}\n", i)
	}
	got := errorsOf(t, b.String(), Options{})
	// a /19 holds 15 bridge /24s between x.x.1.0 and its top /20
	want := []string{"testdata/t.yaml:19:3: pool 10.0.0.0/19 has no free /24 for bridge b16"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}

	got = errorsOf(t, `name: t
bridges: {lan: {subnet: 10.0.0.0/30}}
nodes:
  a: {interfaces: {eth0: lan}}
  b: {interfaces: {eth0: lan}}
`, Options{})
	want = []string{"testdata/t.yaml:5:20: subnet 10.0.0.0/30 has no free address for b:eth0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestHostViewError(t *testing.T) {
	_, err := Parse("t.yaml", []byte("name: t\n"), Options{Host: fakeHost{err: errors.New("netlink down")}})
	var errs Errors
	if err == nil || errors.As(err, &errs) || !strings.Contains(err.Error(), "netlink down") {
		t.Fatalf("err = %v, want a plain error wrapping the host's", err)
	}
}

func TestNATDefaultRoute(t *testing.T) {
	p := mustParse(t, `
name: t
bridges:
  n1: {nat: true}
  n2: {nat: true}
  plain: {}
nodes:
  one: {interfaces: {eth0: plain, eth1: n1}}
  two: {interfaces: {eth0: n1, eth1: n2}}
  gw: {interfaces: {eth0: n1, eth1: plain}, gateway: plain}
  bare: {interfaces: {eth0: {bridge: n1, ipv4: none}}}
  own: {interfaces: {eth0: n1}, routes: [{to: default, via: one}]}
`, Options{})
	got := map[string]string{}
	for _, n := range p.Nodes {
		got[n.Name] = fmt.Sprint(n.Routes)
	}
	want := map[string]string{
		"one":  "[{0.0.0.0/0 172.20.1.1}]", // exactly one nat bridge
		"two":  "[]",                       // two nat bridges: no guess
		"gw":   "[{0.0.0.0/0 172.20.3.1}]", // gateway wins
		"bare": "[]",                       // no address on the nat bridge
		"own":  "[{0.0.0.0/0 172.20.1.2}]", // routes: default wins
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes\n got %v\nwant %v", got, want)
	}
}

func TestDefaultsMerge(t *testing.T) {
	p := mustParse(t, `
name: t
bridges: {lan: {}}
defaults:
  rootfs: host
  env: {A: "1", B: "2"}
  interfaces: {eth0: lan}
  limits: {pids: 100}
nodes:
  a: {}
  b:
    rootfs: busybox
    env: {B: three, C: 4}
    interfaces: {eth1: lan}
    limits: {memory: 1G, tmpfs: 16M}
`, Options{})
	a, b := p.Nodes[0], p.Nodes[1]
	if a.Rootfs != "host" || b.Rootfs != "busybox" {
		t.Errorf("rootfs a %q b %q", a.Rootfs, b.Rootfs)
	}
	if want := []string{"A=1", "B=three", "C=4"}; !reflect.DeepEqual(b.Env, want) {
		t.Errorf("b env %v, want %v", b.Env, want)
	}
	if len(b.Interfaces) != 2 || b.Interfaces[0].Name != "eth0" || b.Interfaces[1].Name != "eth1" {
		t.Errorf("b interfaces %+v", b.Interfaces)
	}
	if b.Limits != (Limits{MemoryBytes: 1 << 30, Pids: 100, TmpfsBytes: 16 << 20}) || a.Limits != (Limits{Pids: 100}) {
		t.Errorf("limits a %+v b %+v", a.Limits, b.Limits)
	}
}

func TestRootfsOverride(t *testing.T) {
	p := mustParse(t, "name: t\nnodes:\n  a: {rootfs: docker://alpine}\n  b: {}\n", Options{RootfsOverride: "busybox"})
	for _, n := range p.Nodes {
		if n.Rootfs != "busybox" {
			t.Errorf("node %s rootfs %q, want busybox", n.Name, n.Rootfs)
		}
	}
	got := errorsOf(t, "name: t\nnodes: {a: {}}\n", Options{RootfsOverride: "./no/such/dir"})
	if len(got) != 1 || !strings.HasPrefix(got[0], "testdata/t.yaml: --rootfs: rootfs /") || !strings.HasSuffix(got[0], "/no/such/dir does not exist") {
		t.Errorf("errors %q", got)
	}
}

func TestShorthandAndGatewayForms(t *testing.T) {
	p := mustParse(t, `
name: t
bridges: {lan: {subnet: 10.1.0.0/24}, wan: {subnet: 10.2.0.0/24}}
nodes:
  a:
    interfaces: {eth0: lan, eth1: wan}
    gateway: 10.1.0.9
    routes:
      - {to: 10.50.0.0/16, via: wan}
      - {to: 10.60.0.1, via: b}
  b: {interfaces: {eth0: {bridge: wan}}}
`, Options{})
	want := "[{0.0.0.0/0 10.1.0.9} {10.50.0.0/16 10.2.0.1} {10.60.0.1/32 10.2.0.3}]"
	if got := fmt.Sprint(p.Nodes[0].Routes); got != want {
		t.Errorf("routes %s, want %s", got, want)
	}
}

// goccy/go-yaml reads [r1:eth1, r2:eth1] inside a flow mapping as one-pair
// mappings; they are read back as the endpoints the user wrote.
func TestLinkEndpointsInFlowMapping(t *testing.T) {
	for _, src := range []string{
		"name: t\nnodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a:p, b:q]}\n",
		"name: t\nnodes: {a: {}, b: {}}\nlinks: [{endpoints: [a:p, \"b:q\"]}]\n",
	} {
		p := mustParse(t, src, Options{})
		if got := fmt.Sprint(p.Links[0].Endpoints); got != "[a:p b:q]" {
			t.Errorf("endpoints %s", got)
		}
	}
	got := errorsOf(t, "name: t\nnodes: {a: {}, b: {}}\nlinks: [{endpoints: [a: p, b:q]}]\n", Options{})
	if want := []string{"testdata/t.yaml:3:22: endpoints entries must be a string, not a mapping"}; !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q", got)
	}
}

// TestIPAMLinkExhaustionReportedOnce: a link that gets no automatic
// subnet is reported once, with no follow-up address errors.
func TestIPAMLinkExhaustionReportedOnce(t *testing.T) {
	got := errorsOf(t, `name: t
ipv4_pool: 10.0.0.0/19
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:eth1, b:eth1]
`, Options{Host: fakeHost{used: prefixes("10.0.16.0/20")}})
	if len(got) != 1 || !strings.Contains(got[0], "no free /30") {
		t.Errorf("errors %q, want one: no free /30 for the link", got)
	}
}
