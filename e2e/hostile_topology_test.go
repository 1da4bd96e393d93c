//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// hostileTopologies are files deploy must refuse with exit 2, each with
// the lines its errors must be located at.
var hostileTopologies = []struct {
	name, text string
	lines      []int
}{
	{"duplicate_node", "name: rlbad\nnodes:\n  h1: {}\n  h1: {}\n", []int{4}},
	{"empty_lab_name", "name: \"\"\nnodes:\n  h1: {}\n", []int{1}},
	{"overlong_lab_name", "name: abcdefghijklmnopqrstuvwxyz\nnodes:\n  h1: {}\n", []int{1}},
	{"overlong_node_name", "name: rlbad\nnodes:\n  h" + strings.Repeat("x", 63) + ": {}\n", []int{3}},
	{"non_ascii_node", "name: rlbad\nnodes:\n  hé: {}\n", []int{3}},
	{"path_like_lab", "name: ../x\nnodes:\n  h1: {}\n", []int{1}},
	{"path_like_node", "name: rlbad\nnodes:\n  ../x: {}\n", []int{3}},
	{"path_like_bridge", "name: rlbad\nbridges:\n  ../../etc: {}\nnodes:\n  h1: {}\n", []int{3}},
	{"interface_over_15_bytes", "name: rlbad\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0123456789abc: lan}}\n", []int{4}},
	{"unknown_bridge", "name: rlbad\nnodes:\n  h1: {interfaces: {eth0: nosuch}}\n", []int{3}},
	{"unknown_node", "name: rlbad\nnodes:\n  h1: {}\nlinks:\n  - endpoints: [h1:eth0, h9:eth0]\n", []int{5}},
	{"self_loop", "name: rlbad\nnodes:\n  h1: {}\nlinks:\n  - endpoints: [h1:eth0, h1:eth1]\n", []int{5}},
	{"reused_endpoint", "name: rlbad\nnodes:\n  h1: {}\n  h2: {}\n  h3: {}\nlinks:\n  - endpoints: [h1:eth0, h2:eth0]\n  - endpoints: [h1:eth0, h3:eth0]\n", []int{8}},
	{"overlapping_subnets", "name: rlbad\nbridges:\n  a: {subnet: 10.9.0.0/16}\n  b: {subnet: 10.9.1.0/24}\nnodes:\n  h1: {interfaces: {eth0: a}}\n", []int{4}},
	{"duplicate_address", "name: rlbad\nbridges:\n  a: {subnet: 10.9.0.0/24}\nnodes:\n  h1: {interfaces: {eth0: {bridge: a, ipv4: 10.9.0.5/24}}}\n  h2: {interfaces: {eth0: {bridge: a, ipv4: 10.9.0.5/24}}}\n", []int{6}},
	{"network_and_broadcast_address", "name: rlbad\nbridges:\n  a: {subnet: 10.9.0.0/24}\nnodes:\n  h1: {interfaces: {eth0: {bridge: a, ipv4: 10.9.0.0/24}}}\n  h2: {interfaces: {eth0: {bridge: a, ipv4: 10.9.0.255/24}}}\n", []int{5, 6}},
	{"mtu_0_and_70000", "name: rlbad\nbridges:\n  a: {mtu: 0}\n  b: {mtu: 70000}\nnodes:\n  h1: {interfaces: {eth0: a}}\n", []int{3, 4}},
	{"alias_bomb", aliasBomb(), []int{7}}, // where the expansion passes its bound
}

func aliasBomb() string {
	var b strings.Builder
	b.WriteString("name: rlbad\nnodes: {h1: {}}\nx0: &a0 [1,1,1,1,1,1,1,1,1,1]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	return b.String()
}

// TestHostileTopologiesRefused: every malformed or hostile file exits 2,
// every error is FILE:LINE:COL at the offending line, and the host (links,
// netns, iptables, mounts, processes, cgroups, files) is untouched.
func TestHostileTopologiesRefused(t *testing.T) {
	for _, c := range hostileTopologies {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			topo := e.writeTopo("bad.yaml", c.text)
			r := e.run("deploy", topo)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
			}
			assertLocated(t, topo, r.stderr, c.lines)
		})
	}
}

var errLine = regexp.MustCompile(`^(.*):(\d+):(\d+): \S`)

// assertLocated checks that every error line of stderr is FILE:LINE:COL
// and that each wanted line has one.
func assertLocated(t *testing.T, file, stderr string, lines []int) {
	t.Helper()
	got := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		m := errLine.FindStringSubmatch(l)
		if m == nil || m[1] != file {
			if !strings.HasPrefix(l, "leolab:") { // a summary line is allowed
				t.Errorf("error not located: %q", l)
			}
			continue
		}
		got[m[2]] = true
	}
	for _, n := range lines {
		if !got[fmt.Sprint(n)] {
			t.Errorf("no error at line %d:\n%s", n, stderr)
		}
	}
}

// TestFiftyMegabyteTopologyRefused: a huge file is refused before parsing.
func TestFiftyMegabyteTopologyRefused(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("big.yaml", "name: rlbig\nnodes:\n  h1: {}\n# "+strings.Repeat("x", 50<<20)+"\n")
	r := e.run("deploy", topo)
	if r.code != 2 || !strings.HasPrefix(r.stderr, topo+":") {
		t.Fatalf("exit %d, want 2 with an error naming the file\n%.300s", r.code, r.stderr)
	}
}

// TestSubnetOverlappingHostRouteRefused: a static subnet equal to a route
// of the host's is refused at its line.
func TestSubnetOverlappingHostRouteRefused(t *testing.T) {
	e := newEnv(t)
	out, _ := exec.Command("ip", "-4", "route", "show", "scope", "link").Output()
	var subnet string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.Contains(f[0], "/") && !strings.HasPrefix(f[0], "172.20.") {
			subnet = f[0]
			break
		}
	}
	if subnet == "" {
		t.Skip("no host subnet route to collide with")
	}
	topo := e.writeTopo("hr.yaml", "name: rlroute\nbridges:\n  a: {subnet: "+subnet+"}\nnodes:\n  h1: {interfaces: {eth0: a}}\n")
	r := e.run("deploy", topo)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	assertLocated(t, topo, r.stderr, []int{3})
}

// TestSubnetOverlappingRunningLabRefused: a second lab claiming a running
// lab's subnet is refused; the running lab is unharmed.
func TestSubnetOverlappingRunningLabRefused(t *testing.T) {
	e := newEnv(t)
	first := e.writeTopo("one.yaml", "name: rlsub1\nbridges:\n  a: {subnet: 10.231.7.0/24}\nnodes:\n  h1: {interfaces: {eth0: a}}\n")
	second := e.writeTopo("two.yaml", "name: rlsub2\nbridges:\n  b: {subnet: 10.231.0.0/16}\nnodes:\n  h1: {interfaces: {eth0: b}}\n")
	e.must("deploy", first)
	defer e.must("destroy", "--lab", "rlsub1")
	r := e.run("deploy", second)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	assertLocated(t, second, r.stderr, []int{3})
	e.must("exec", "rlsub1/h1", "--", "true")
	if _, err := os.Stat(e.root + "/labs/rlsub2"); !os.IsNotExist(err) {
		t.Errorf("refused lab left a directory (%v)", err)
	}
}
