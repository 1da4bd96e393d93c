//go:build linux

package e2e

import (
	"encoding/json"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestExampleDualStack (issue 21): ping6 on a bridge, across two routers
// with static IPv6 routes, NAT66 to a namespace this test creates standing
// for the outside, inspect's IPv6 fields, pingall over both families, link
// down/up keeping IPv6, and destroy leaving no ip6tables rule and IPv6
// forwarding as it was (the harness snapshot checks both again).
func TestExampleDualStack(t *testing.T) {
	e := newEnv(t)
	topo := example(t, "dual-stack.yaml")
	fwdBefore := readForward6(t)
	e.must("deploy", topo)
	destroyed := false
	defer func() {
		if !destroyed {
			e.must("destroy", "--lab", "dual-stack")
		}
	}()
	e.mustCheck(topo)

	v := inspect6(e, "dual-stack")
	lan, far := v.bridge("lan"), v.bridge("far")
	sub6, err := netip.ParsePrefix(lan.Subnet6)
	if err != nil || sub6.Bits() != 64 || !sub6.Addr().Is6() || lan.Gateway6 != sub6.Addr().Next().String() {
		t.Errorf("bridge lan: subnet6 %q gateway6 %q, want an automatic /64 and its ::1", lan.Subnet6, lan.Gateway6)
	}
	if far.Subnet6 != "fd00:121::/64" || far.Gateway6 != "" {
		t.Errorf("bridge far: subnet6 %q gateway6 %q, want fd00:121::/64 and none (gateway: false)", far.Subnet6, far.Gateway6)
	}
	h1 := v.iface("h1", "eth0")
	if a, err := netip.ParsePrefix(h1.IPv6); err != nil || !sub6.Contains(a.Addr()) || h1.IPv4 == "" {
		t.Errorf("h1:eth0 ipv4 %q ipv6 %q, want both, IPv6 in %s", h1.IPv4, h1.IPv6, sub6)
	}
	if len(v.Links) != 1 || v.Links[0].Subnet6 == "" || v.Links[0].Subnet == "" {
		t.Errorf("links: %+v, want one with subnet and subnet6", v.Links)
	}

	if !e.ping6("h2", "h1") {
		t.Error("h2 cannot ping6 h1 on the LAN")
	}
	if !e.ping6("h2", lan.Gateway6) {
		t.Errorf("h2 cannot ping6 the host side of its bridge, %s", lan.Gateway6)
	}
	if out := e.must("inspect", "--lab", "dual-stack"); !strings.Contains(out, "eth0="+h1.IPv4+","+h1.IPv6+"(lan)") {
		t.Errorf("inspect table lacks h1's two addresses %s,%s:\n%s", h1.IPv4, h1.IPv6, out)
	}
	if !e.ping6("h1", "f1") || !e.ping6("f1", "h1") {
		t.Error("no IPv6 path h1 <-> f1 across r1 and r2")
	}
	if out := e.pingall("dual-stack"); !strings.Contains(out, "IPv6:") || !strings.Contains(out, "0% dropped (40/40 received)") {
		t.Errorf("pingall over both families:\n%s", out)
	}
	if out := e.pingall("-6", "dual-stack"); strings.Contains(out, "IPv4:") || !strings.Contains(out, "(20/20 received)") {
		t.Errorf("pingall -6:\n%s", out)
	}

	// A link taken down and up again gets its IPv6 addresses and routes back.
	e.must("link", "down", "r1:eth1")
	if e.ping6("h1", "f1") {
		t.Error("h1 reaches f1 over IPv6 with r1:eth1 down")
	}
	e.must("link", "up", "r1:eth1")
	if !e.reachable6("h1", "f1") {
		t.Errorf("no IPv6 path h1 -> f1 after r1:eth1 came back:\n%s", e.must("exec", "r1", "--", "ip", "-6", "addr"))
	}

	// NAT66: the outside has no route to the lab, so only a masqueraded
	// ping is answered.
	if !regexp.MustCompile(`-s ` + regexp.QuoteMeta(sub6.String()) + ` .*-j MASQUERADE`).MatchString(natRules("ip6tables")) {
		t.Errorf("no IPv6 MASQUERADE rule for %s:\n%s", sub6, natRules("ip6tables"))
	}
	if got := readForward6(t); got != "1" {
		t.Errorf("net.ipv6.conf.all.forwarding = %s with a NAT66 lab, want 1", got)
	}
	outside := newOutside6(t)
	defer outside.remove()
	// r1's default routes lead to the host (nat: true); h1 and h2 go out
	// through r1.
	if !e.ping6("r1", outside.addr) {
		t.Errorf("r1 cannot reach %s in the outside namespace through NAT66", outside.addr)
	}

	e.must("destroy", "--lab", "dual-stack")
	destroyed = true
	if rules := natRules("ip6tables"); strings.Contains(rules, sub6.String()) {
		t.Errorf("IPv6 MASQUERADE rule left after destroy:\n%s", rules)
	}
	if got := readForward6(t); got != fwdBefore {
		t.Errorf("net.ipv6.conf.all.forwarding = %s after destroy, was %s", got, fwdBefore)
	}
}

// pingall runs leolab pingall up to three times until no ping is lost:
// each ping waits one second for its reply, which a busy shared machine
// can miss once in a while.
func (e *env) pingall(args ...string) string {
	e.t.Helper()
	var r result
	for range 3 {
		if r = e.run(append([]string{"pingall"}, args...)...); r.code == 0 {
			break
		}
	}
	return r.stdout
}

func (e *env) ping6(node, target string) bool {
	e.t.Helper()
	return e.run("exec", node, "--", "ping", "-6", "-c", "1", "-W", "2", target).code == 0
}

// reachable6 is reachable over IPv6.
func (e *env) reachable6(node, target string) bool {
	e.t.Helper()
	return fiveTries(func() bool { return e.ping6(node, target) })
}

// labView6 is the IPv6 part of `inspect --format json`.
type labView6 struct {
	Bridges []struct{ Name, Subnet6, Gateway6 string }
	Nodes   []struct {
		Name       string
		Interfaces []struct{ Name, IPv4, IPv6 string }
	}
	Links []struct{ Subnet, Subnet6 string }
}

func inspect6(e *env, lab string) labView6 {
	e.t.Helper()
	var v labView6
	if err := json.Unmarshal([]byte(e.must("inspect", "--lab", lab, "--format", "json")), &v); err != nil {
		e.t.Fatalf("inspect %s: %v", lab, err)
	}
	return v
}

func (v labView6) bridge(name string) (b struct{ Name, Subnet6, Gateway6 string }) {
	for _, x := range v.Bridges {
		if x.Name == name {
			return x
		}
	}
	return b
}

func (v labView6) iface(node, name string) (i struct{ Name, IPv4, IPv6 string }) {
	for _, n := range v.Nodes {
		for _, x := range n.Interfaces {
			if n.Name == node && x.Name == name {
				return x
			}
		}
	}
	return i
}

func readForward6(t *testing.T) string {
	t.Helper()
	v, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/forwarding")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// newOutside6 is newOutside for IPv6: a namespace reached over a veth from
// the host, 2001:db8:ff::/64 (documentation prefix), no other route.
func newOutside6(t *testing.T) *outsideNS {
	t.Helper()
	return newOutsideNS(t, "ll6o", "ll6h", "2001:db8:ff::1/64", "2001:db8:ff::2/64", "nodad")
}
