//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLinkDownUpAndNetemRate cuts and restores a point-to-point link and a
// bridge port on a running lab, and sets, shows and clears a rate limit.
func TestLinkDownUpAndNetemRate(t *testing.T) {
	e := newEnv(t)
	// Two nodes on a LAN, also linked point to point (captureTopo).
	topo := e.writeTopo("ctl.yaml", strings.Replace(captureTopo, "cap-e2e", "ctl", 1))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "ctl")
	ping := func(target string) int {
		return e.run("exec", "a", "--", "ping", "-c", "1", "-W", "1", target).code
	}
	for _, c := range []struct{ iface, target string }{{"a:eth1", "b-eth1"}, {"a:eth0", "b-eth0"}} {
		if ping(c.target) != 0 {
			t.Fatalf("%s: no ping before link down", c.iface)
		}
		e.must("link", "down", c.iface)
		if ping(c.target) == 0 {
			t.Errorf("%s: ping still works with the link down", c.iface)
		}
		e.must("link", "up", c.iface)
		waitFor(t, c.iface+" back up", 10e9, func() bool { return ping(c.target) == 0 })
	}

	e.must("netem", "set", "a:eth1", "--rate", "10mbit")
	if out := e.must("netem", "show", "a:eth1"); !strings.Contains(out, "rate 10000000bit") {
		t.Errorf("netem show after set: %q", out)
	}
	e.must("netem", "clear", "a:eth1")
	if out := e.must("netem", "show", "a:eth1"); !strings.Contains(out, "no impairment") {
		t.Errorf("netem show after clear: %q", out)
	}
	if r := e.run("netem", "set", "a:eth9", "--rate", "1mbit"); r.code == 0 || !strings.Contains(r.stderr, "no interface eth9") {
		t.Errorf("netem on a missing interface: exit %d %s", r.code, r.stderr)
	}
}

// TestLabLinksHaveNoAutomaticIPv6: no interface of a lab (node ends, bridge
// ports, the bridge) gets an IPv6 link-local address, so nothing floods
// IPv6 chatter through a lab's bridge; a node's sysctl brings it back.
func TestLabLinksHaveNoAutomaticIPv6(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("v6.yaml", `name: v6
bridges: {lan: {}}
nodes:
  a: {interfaces: {eth0: lan}}
  b:
    interfaces: {eth0: lan}
    sysctls: {net.ipv6.conf.eth0.addr_gen_mode: 0}
links:
  - endpoints: [a:eth1, b:eth1]
`)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "v6")
	v6 := func(table string) map[string]bool { // device → has an IPv6 address
		devs := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
			if f := strings.Fields(line); len(f) == 6 {
				devs[f[5]] = true
			}
		}
		return devs
	}
	if a := v6(e.must("exec", "a", "--", "cat", "/proc/net/if_inet6")); a["eth0"] || a["eth1"] {
		t.Errorf("node a has automatic IPv6 addresses: %v", a)
	}
	if b := v6(e.must("exec", "b", "--", "cat", "/proc/net/if_inet6")); !b["eth0"] || b["eth1"] {
		t.Errorf("node b: IPv6 on %v, want eth0 only (its addr_gen_mode sysctl)", b)
	}
	hostTable, err := os.ReadFile("/proc/net/if_inet6")
	if err != nil {
		t.Fatal(err)
	}
	host := v6(string(hostTable))
	aliases, _ := filepath.Glob("/sys/class/net/*/ifalias")
	seen := 0
	for _, path := range aliases {
		alias, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(alias), "leolab:v6:") {
			continue
		}
		seen++
		if dev := filepath.Base(filepath.Dir(path)); host[dev] {
			t.Errorf("host device %s (%s) has an IPv6 address", dev, strings.TrimSpace(string(alias)))
		}
	}
	if seen != 3 { // the bridge and two bridge ports
		t.Errorf("found %d host devices of lab v6, want 3", seen)
	}
}
