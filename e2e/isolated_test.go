//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// TestIsolatedLabsShareASubnet deploys two isolated labs with the same
// subnet side by side: each works, neither shows a device in the host's
// link list, and nat in an isolated lab is refused.
func TestIsolatedLabsShareASubnet(t *testing.T) {
	e := newEnv(t)
	hostLinks := len(links(t))
	for _, name := range []string{"iso1", "iso2"} {
		topo := e.writeTopo(name+".yaml", "name: "+name+"\nbridges:\n  lan: {subnet: 172.20.50.0/24}\nnodes:\n  a: {interfaces: {eth0: lan}}\n  b: {interfaces: {eth0: lan}}\n")
		e.must("deploy", "--isolated", topo)
	}
	if n := len(links(t)); n != hostLinks {
		t.Errorf("isolated labs changed the host's link count: %d → %d", hostLinks, n)
	}
	for _, name := range []string{"iso1", "iso2"} {
		e.must("exec", name+"/a", "--", "ping", "-c", "1", "-W", "2", "b")
		if out := e.must("exec", name+"/a", "--", "ip", "-4", "addr", "show", "eth0"); !strings.Contains(out, "172.20.50.2/24") {
			t.Errorf("%s/a address:\n%s", name, out)
		}
	}
	// The bridge's .1 lives in the lab namespace, not on the host.
	if r := e.run("exec", "iso1/a", "--", "ping", "-c", "1", "-W", "1", "172.20.50.1"); r.code != 0 {
		t.Errorf("gateway .1 inside the isolated lab namespace unreachable: %s", r.stderr)
	}
	e.must("destroy", "--lab", "iso1")
	e.must("destroy", "--lab", "iso2")

	nat := e.writeTopo("isonat.yaml", "name: isonat\nbridges:\n  lan: {nat: true}\nnodes:\n  a: {interfaces: {eth0: lan}}\n")
	r := e.run("deploy", "--isolated", nat)
	if r.code != 2 || !strings.Contains(r.stderr, "isolated") {
		t.Errorf("nat in an isolated lab: exit %d, stderr %s", r.code, r.stderr)
	}
}
