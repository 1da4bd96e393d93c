//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// routerCache is a Debian bookworm tree with FRR and BIRD, kept between
// runs: it takes minutes to build and is the same every time. The router
// examples name debian:bookworm+frr (or +bird2), which leolab builds into
// each root's own image cache; these tests point them at this tree instead,
// so every test root does not build it again (the image build itself has
// its own tests).
const routerCache = "/var/cache/leolab-test/debian-bookworm-routers"

// converge is how long a routing protocol gets to converge: generous, for
// a loaded 2-vCPU machine; the tests poll and never wait longer than needed.
const converge = 3 * time.Minute

// routerRootfs returns routerCache, building it with mmdebstrap from the
// host's apt sources on first use; it skips when mmdebstrap or the mirror
// is not available.
func routerRootfs(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the router tests (they need a Debian tree with FRR and BIRD)")
	}
	if _, err := os.Stat(filepath.Join(routerCache, "usr/lib/frr/watchfrr")); err == nil {
		return routerCache
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		t.Skip("mmdebstrap not installed (apt-get install mmdebstrap): skipping the router tests")
	}
	tmp := routerCache + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(routerCache), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--variant=minbase", "--include=frr,bird2,iproute2,iputils-ping,procps", "bookworm", tmp}
	if _, err := os.Stat("/etc/apt/sources.list.d/debian.sources"); err == nil {
		args = append(args, "/etc/apt/sources.list.d/debian.sources")
	}
	if out, err := exec.Command("mmdebstrap", args...).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		t.Skipf("mmdebstrap failed (Debian mirror unreachable?): %v\n%s", err, lastLines(string(out), 5))
	}
	if err := os.Rename(tmp, routerCache); err != nil {
		t.Fatal(err)
	}
	return routerCache
}

// routerExample writes an example with its debian: rootfs replaced by the
// cached router tree (everything else as in the file).
func (e *env) routerExample(name string) string {
	e.t.Helper()
	dir := routerRootfs(e.t)
	data, err := os.ReadFile(example(e.t, name))
	if err != nil {
		e.t.Fatal(err)
	}
	text := regexp.MustCompile(`debian:bookworm\+\S+`).ReplaceAllString(string(data), dir)
	return e.writeTopo(name, text)
}

// poll runs cond every half second until it holds, failing the test after
// d. It is for convergence, whose time no test may assume.
func poll(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, d)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ospfFull counts the FRR router's OSPF neighbours in state Full.
func (e *env) ospfFull(router string) int {
	e.t.Helper()
	r := e.run("exec", router, "--", "vtysh", "-c", "show ip ospf neighbor json")
	if r.code != 0 {
		return -1
	}
	var v struct {
		Neighbors map[string][]struct {
			State     string `json:"state"`
			NbrState  string `json:"nbrState"`
			Converged string `json:"converged"`
		} `json:"neighbors"`
	}
	if json.Unmarshal([]byte(r.stdout), &v) != nil {
		return -1
	}
	n := 0
	for _, list := range v.Neighbors {
		for _, nb := range list {
			if strings.HasPrefix(nb.State, "Full") || strings.HasPrefix(nb.NbrState, "Full") {
				n++
			}
		}
	}
	return n
}

// bgpEstablished counts the FRR router's BGP sessions in Established.
func (e *env) bgpEstablished(router string) int {
	e.t.Helper()
	r := e.run("exec", router, "--", "vtysh", "-c", "show bgp ipv4 unicast summary json")
	if r.code != 0 {
		return -1
	}
	var v struct {
		Peers map[string]struct {
			State string `json:"state"`
		} `json:"peers"`
	}
	if json.Unmarshal([]byte(r.stdout), &v) != nil {
		return -1
	}
	n := 0
	for _, p := range v.Peers {
		if p.State == "Established" {
			n++
		}
	}
	return n
}

// birdFull counts the BIRD router's OSPF neighbours in state Full.
func (e *env) birdFull(router string) int {
	e.t.Helper()
	r := e.run("exec", router, "--", "birdc", "show", "ospf", "neighbors")
	if r.code != 0 {
		return -1
	}
	return strings.Count(r.stdout, "Full/")
}

// routeDev is the interface node sends traffic to dst out of ("" if none).
func (e *env) routeDev(node, dst string) string {
	e.t.Helper()
	r := e.run("exec", node, "--", "ip", "-4", "route", "get", dst)
	if m := regexp.MustCompile(`dev (\S+)`).FindStringSubmatch(r.stdout); r.code == 0 && m != nil {
		return m[1]
	}
	return ""
}

// failover checks a triangle lab's reroute: h1 → h2 leaves r1 through eth1
// (r1-r2), goes around through eth2 (r3) with r1:eth1 down, and comes back.
func (e *env) failover() {
	t := e.t
	t.Helper()
	poll(t, "direct route r1 → lan2 through eth1", converge, func() bool { return e.routeDev("r1", "10.1.2.10") == "eth1" })
	for _, to := range []string{"10.1.2.10", "10.1.3.10"} {
		if !e.reachable("h1", to) {
			t.Fatalf("h1 does not reach %s across the routers", to)
		}
	}
	if !e.reachable("h2", "10.1.3.10") {
		t.Fatal("h2 does not reach h3 across the routers")
	}
	e.must("link", "down", "r1:eth1")
	poll(t, "reroute r1 → lan2 through eth2 with r1:eth1 down", converge, func() bool { return e.routeDev("r1", "10.1.2.10") == "eth2" })
	poll(t, "h1 reaching h2 around the cut link", converge, func() bool { return e.ping("h1", "10.1.2.10") })
	e.must("link", "up", "r1:eth1")
	poll(t, "route r1 → lan2 back on eth1", converge, func() bool { return e.routeDev("r1", "10.1.2.10") == "eth1" })
	poll(t, "h1 reaching h2 on the direct path", converge, func() bool { return e.ping("h1", "10.1.2.10") })
}

// TestExampleOSPFTriangle: three FRR routers reach Full adjacencies, hosts
// reach each other through them, and a cut link is routed around.
func TestExampleOSPFTriangle(t *testing.T) {
	e := newEnv(t)
	topo := e.routerExample("ospf-triangle.yaml")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "ospf-triangle")
	for _, r := range []string{"r1", "r2", "r3"} {
		poll(t, r+" with two Full OSPF neighbours", converge, func() bool { return e.ospfFull(r) == 2 })
	}
	e.failover()
	if out := e.must("exec", "r1", "--", "vtysh", "-c", "show ip route ospf"); !strings.Contains(out, "10.1.3.0/24") {
		t.Errorf("r1 has no OSPF route to lan3:\n%s", out)
	}
}

// TestExampleBGPThreeAS: every eBGP session is Established, each AS's LAN
// reaches the others, and the r1-r2 session failing reroutes through AS 65003.
func TestExampleBGPThreeAS(t *testing.T) {
	e := newEnv(t)
	topo := e.routerExample("bgp-three-as.yaml")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "bgp-three-as")
	for _, r := range []string{"r1", "r2", "r3"} {
		poll(t, r+" with two Established BGP sessions", converge, func() bool { return e.bgpEstablished(r) == 2 })
	}
	e.failover()
}

// TestExampleBirdOSPF: the triangle with BIRD: protocols up through birdc,
// adjacencies Full, reach and failover.
func TestExampleBirdOSPF(t *testing.T) {
	e := newEnv(t)
	topo := e.routerExample("bird-ospf.yaml")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "bird-ospf")
	out := e.must("exec", "r1", "--", "birdc", "show", "protocols")
	if !regexp.MustCompile(`(?m)^ospf1\s+OSPF\s+\S+\s+up`).MatchString(out) {
		t.Errorf("birdc show protocols: no ospf1 up:\n%s", out)
	}
	for _, r := range []string{"r1", "r2", "r3"} {
		poll(t, r+" with two Full OSPF neighbours", converge, func() bool { return e.birdFull(r) == 2 })
	}
	e.failover()
}
