//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// TestLinkDownUpAndNetemRate cuts and restores a point-to-point link and a
// bridge port on a running lab, and sets, shows and clears a rate limit.
func TestLinkDownUpAndNetemRate(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("ctl.yaml", `name: ctl
bridges: {lan: {}}
nodes:
  a: {interfaces: {eth0: lan}}
  b: {interfaces: {eth0: lan}}
links:
  - endpoints: [a:eth1, b:eth1]
`)
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
