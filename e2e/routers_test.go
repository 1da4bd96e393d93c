//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// capBits reads a capability set line (CapBnd, CapEff …) of a process
// inside node.
func (e *env) capBits(node, pid, field string) uint64 {
	e.t.Helper()
	out := e.must("exec", node, "--", "cat", "/proc/"+pid+"/status")
	m := regexp.MustCompile(`(?m)^` + field + `:\s+([0-9a-f]+)$`).FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("no %s in /proc/%s/status:\n%s", field, pid, out)
	}
	v, err := strconv.ParseUint(m[1], 16, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// Capability numbers (capability.h) the tests look at.
const (
	capNetRaw   = 13
	capSysModul = 16
	capSysRawio = 17
	capSysPtrac = 19
	capSysAdmin = 21
	capSysBoot  = 22
	capSysTime  = 25
)

// TestFRRWithoutPrivileged: an FRR router on the default profile (no
// privileged) starts watchfrr and its daemons as the frr user, keeps only
// what FRR asks for beyond the default set (SYS_ADMIN), cannot use that to
// mount anything, and converges; vtysh works through exec and the daemons'
// supervisor shows in `logs`.
func TestFRRWithoutPrivileged(t *testing.T) {
	e := newEnv(t)
	dir := routerRootfs(t)
	conf := func(name string) string {
		return `      config: |
        hostname ` + name + `
        interface eth1
         ip ospf network point-to-point
        router ospf
         network 10.0.0.0/8 area 0
`
	}
	topo := e.writeTopo("frr.yaml", `name: rt-frr-unpriv
defaults: {rootfs: `+dir+`}
nodes:
  r1:
    frr:
      daemons: [ospfd]
`+conf("r1")+`  r2:
    frr:
      daemons: [ospfd]
`+conf("r2")+`links:
  - endpoints: [r1:eth1, r2:eth1]
    subnet: 10.0.12.0/30
`)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rt-frr-unpriv")
	poll(t, "a Full OSPF adjacency", converge, func() bool { return e.ospfFull("r1") == 1 && e.ospfFull("r2") == 1 })

	ps := e.must("exec", "r1", "--", "ps", "-eo", "user=,comm=")
	for _, want := range []string{`(?m)^root\s+watchfrr$`, `(?m)^frr\s+zebra$`, `(?m)^frr\s+ospfd$`, `(?m)^frr\s+staticd$`} {
		if !regexp.MustCompile(want).MatchString(ps) {
			t.Errorf("processes of r1 lack %s:\n%s", want, ps)
		}
	}
	bnd := e.capBits("r1", "1", "CapBnd")
	if bnd&(1<<capSysAdmin) == 0 {
		t.Errorf("CapBnd %x: the router lacks SYS_ADMIN, which FRR's daemons ask for", bnd)
	}
	for _, c := range []int{capSysModul, capSysRawio, capSysPtrac, capSysBoot, capSysTime} {
		if bnd&(1<<c) != 0 {
			t.Errorf("CapBnd %x: capability %d kept on an unprivileged router", bnd, c)
		}
	}
	if st := e.must("exec", "r1", "--", "grep", "NoNewPrivs", "/proc/self/status"); !strings.Contains(st, "1") {
		t.Errorf("no_new_privs not set: %s", st)
	}
	if r := e.run("exec", "r1", "--", "sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x"); r.code == 0 {
		t.Error("a router keeping SYS_ADMIN mounted a tmpfs: the seccomp filter is missing")
	}
	out := e.must("exec", "r1", "--", "vtysh", "-c", "show ip ospf neighbor json")
	if !strings.Contains(out, `"neighbors"`) {
		t.Errorf("vtysh through exec:\n%s", out)
	}
	logs := e.must("logs", "--lab", "rt-frr-unpriv", "r1")
	if !strings.Contains(logs, "watchfrr") || !strings.Contains(logs, "zebra state -> up") {
		t.Errorf("logs r1 lacks watchfrr's start-up:\n%s", logs)
	}
}

// TestLogsBoundedAndFollowed: a node's main process output is kept in a
// bounded file pair, `logs` prints the newest of it, `logs -f` follows new
// output, and nothing of it outlives destroy (the harness checks the root).
func TestLogsBoundedAndFollowed(t *testing.T) {
	e := newEnv(t)
	// 40 × 64 KiB = 2.5 MiB of x, then a tick every 0.2 s.
	topo := e.writeTopo("logs.yaml", `name: rt-logs
nodes:
  n1:
    cmd: [/bin/sh, -c, "i=0; while [ $i -lt 40 ]; do head -c 65536 /dev/zero | tr '\\000' x; i=$((i+1)); done; echo; echo DONE-MARK; n=0; while true; do n=$((n+1)); echo tick-$n; sleep 0.2; done"]
`)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rt-logs")
	poll(t, "DONE-MARK in logs", converge, func() bool { return strings.Contains(e.must("logs", "n1"), "DONE-MARK") })
	nodeDir := filepath.Join(e.root, "labs", "rt-logs", "nodes", "n1")
	var total int64
	for _, f := range []string{"console.log", "console.log.1"} {
		st, err := os.Stat(filepath.Join(nodeDir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over its 1 MiB bound", f, st.Size())
		}
		total += st.Size()
	}
	if total >= 5<<19 {
		t.Errorf("console logs hold %d bytes of 2.5 MiB written: not bounded", total)
	}
	last := func(s string) int {
		m := regexp.MustCompile(`tick-(\d+)`).FindAllStringSubmatch(s, -1)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[len(m)-1][1])
		return n
	}
	before := last(e.must("logs", "n1"))
	f := exec.Command(binary, "--root", e.root, "logs", "-f", "n1")
	var out syncBuffer
	f.Stdout = &out
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	poll(t, "logs -f showing new ticks", converge, func() bool { return last(out.String()) > before+2 })
	f.Process.Signal(os.Interrupt)
	if err := f.Wait(); err != nil {
		t.Errorf("logs -f after SIGINT: %v", err)
	}
}

// TestRouterErrors: a router on a rootfs without its software, an unknown
// FRR daemon and an unknown capability are located errors (exit 2) that
// say what to use, at validate time or, for an image known only once
// prepared, at deploy, with the host untouched.
func TestRouterErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ name, node, want string }{
		{"busybox", "frr: {daemons: [ospfd]}", `:4:5: frr needs a rootfs with frr installed; busybox has none: use rootfs: debian:bookworm+frr`},
		{"debian", "{rootfs: 'debian:bookworm+tcpdump', frr: {}}", `frr needs a rootfs with frr installed; debian:bookworm+tcpdump lacks it: use rootfs: debian:bookworm+frr+tcpdump`},
		{"bird", "bird: {config: \"log stderr all;\\n\"}", `bird needs a rootfs with bird2 installed; busybox has none`},
		{"daemon", "{rootfs: debian:bookworm+frr, frr: {daemons: [ospfd, ospfv3d]}}", `:4:58: unknown FRR daemon "ospfv3d"`},
		{"capability", "capabilities: {add: [NET_ADMINN]}", `:4:26: unknown capability "NET_ADMINN"`},
	}
	for _, c := range cases {
		topo := e.writeTopo(c.name+".yaml", "name: rt-err\nnodes:\n  r1:\n    "+c.node+"\n")
		for _, verb := range []string{"validate", "deploy"} {
			r := e.run(verb, topo)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, topo) {
				t.Errorf("%s %s: exit %d, want 2 and %q:\n%s", verb, c.name, r.code, c.want, r.stderr)
			}
		}
	}
	// A tarball is only known once unpacked: deploy says it at the frr key.
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "etc"), 0o755)
	os.WriteFile(filepath.Join(tree, "etc", "hostname"), []byte("x\n"), 0o644)
	tarball := filepath.Join(t.TempDir(), "nofrr.tar")
	if out, err := exec.Command("tar", "-C", tree, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	topo := e.writeTopo("tar.yaml", "name: rt-err\nnodes:\n  r1:\n    rootfs: "+tarball+"\n    frr: {daemons: [ospfd]}\n")
	if r := e.run("validate", topo); r.code != 0 {
		t.Fatalf("validate: exit %d\n%s", r.code, r.stderr)
	}
	r := e.run("deploy", topo)
	want := topo + `:5:5: frr needs a rootfs with frr installed; ` + tarball + ` has no /usr/lib/frr/watchfrr`
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("deploy on a tarball without FRR: exit %d, want 2 and %q:\n%s", r.code, want, r.stderr)
	}
	if out := e.must("list"); strings.Contains(out, "rt-err") {
		t.Errorf("the refused lab is listed:\n%s", out)
	}
}

// TestCapabilitiesField: capabilities add and drop change a node's set;
// a node given SYS_ADMIN without privileged still cannot mount.
func TestCapabilitiesField(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("caps.yaml", `name: rt-caps
nodes:
  n1:
    capabilities: {add: [sys_time, CAP_SYS_ADMIN], drop: [NET_RAW]}
  n2: {}
`)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rt-caps")
	eff := e.capBits("n1", "self", "CapEff")
	if eff&(1<<capSysTime) == 0 || eff&(1<<capSysAdmin) == 0 || eff&(1<<capNetRaw) != 0 {
		t.Errorf("n1 CapEff %x: want SYS_TIME and SYS_ADMIN added, NET_RAW dropped", eff)
	}
	if def := e.capBits("n2", "self", "CapEff"); def&(1<<capSysTime) != 0 || def&(1<<capNetRaw) == 0 {
		t.Errorf("n2 CapEff %x: the default set changed", def)
	}
	r := e.run("exec", "n1", "--", "sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x")
	if r.code == 0 {
		t.Error("a node with SYS_ADMIN (not privileged) could mount")
	}
}

// frr01Clab is a containerlab topology in the shape of containerlab's
// lab-examples/frr01 (written here, not copied): three FRR routers in a
// triangle running OSPF from bound daemons and frr.conf files (zebra puts
// the addresses on), and three PCs of a multitool image addressed by exec.
const frr01Clab = `name: rt-frr01
mgmt:
  network: rtmgmt
  ipv4-subnet: 172.31.219.0/24
topology:
  nodes:
    router1:
      kind: linux
      image: quay.io/frrouting/frr:8.4.1
      binds:
        - router1/daemons:/etc/frr/daemons
        - router1/frr.conf:/etc/frr/frr.conf
    router2:
      kind: linux
      image: quay.io/frrouting/frr:8.4.1
      binds:
        - router2/daemons:/etc/frr/daemons
        - router2/frr.conf:/etc/frr/frr.conf
    router3:
      kind: linux
      image: quay.io/frrouting/frr:8.4.1
      binds:
        - router3/daemons:/etc/frr/daemons
        - router3/frr.conf:/etc/frr/frr.conf
    PC1:
      kind: linux
      image: wbitt/network-multitool:latest
      exec:
        - ip addr add 192.168.11.2/24 dev eth1
        - ip route add 192.168.0.0/16 via 192.168.11.1
    PC2:
      kind: linux
      image: wbitt/network-multitool:latest
      exec:
        - ip addr add 192.168.12.2/24 dev eth1
        - ip route add 192.168.0.0/16 via 192.168.12.1
    PC3:
      kind: linux
      image: wbitt/network-multitool:latest
      exec:
        - ip addr add 192.168.13.2/24 dev eth1
        - ip route add 192.168.0.0/16 via 192.168.13.1
  links:
    - endpoints: ["router1:eth1", "router2:eth1"]
    - endpoints: ["router1:eth2", "router3:eth1"]
    - endpoints: ["router2:eth2", "router3:eth2"]
    - endpoints: ["PC1:eth1", "router1:eth3"]
    - endpoints: ["PC2:eth1", "router2:eth3"]
    - endpoints: ["PC3:eth1", "router3:eth3"]
`

// frr01Daemons is a daemons file as FRR's image reads it.
const frr01Daemons = `zebra=yes
ospfd=yes
bgpd=no
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
ospfd_options="  -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
`

// frr01Conf is router i's frr.conf: its three interfaces addressed
// (router-router links 192.168.{1,2,3}.0/30, PC LANs 192.168.1i.0/24) and
// OSPF over all of them.
func frr01Conf(i int) string {
	links := map[int][2]string{ // eth1, eth2
		1: {"192.168.1.1/30", "192.168.2.1/30"},
		2: {"192.168.1.2/30", "192.168.3.1/30"},
		3: {"192.168.2.2/30", "192.168.3.2/30"},
	}[i]
	n := strconv.Itoa(i)
	return "frr defaults traditional\nhostname router" + n + "\n" +
		"interface eth1\n ip address " + links[0] + "\n ip ospf network point-to-point\n" +
		"interface eth2\n ip address " + links[1] + "\n ip ospf network point-to-point\n" +
		"interface eth3\n ip address 192.168.1" + n + ".1/24\n" +
		"router ospf\n ospf router-id 10.10.10." + n + "\n passive-interface eth3\n network 192.168.0.0/16 area 0\n"
}

// TestContainerlabFRR01: a containerlab file of FRR routers and multitool
// PCs deploys unchanged with --image mappings (FRR's image to a Debian
// tree with FRR, the PCs' to busybox); each router runs FRR from its bound
// files, OSPF converges and PC1 reaches PC3.
func TestContainerlabFRR01(t *testing.T) {
	e := newEnv(t)
	dir := routerRootfs(t)
	topo := e.writeTopo("frr01.clab.yml", frr01Clab)
	for i := 1; i <= 3; i++ {
		rdir := filepath.Join(filepath.Dir(topo), "router"+strconv.Itoa(i))
		os.MkdirAll(rdir, 0o755)
		os.WriteFile(filepath.Join(rdir, "daemons"), []byte(frr01Daemons), 0o644)
		os.WriteFile(filepath.Join(rdir, "frr.conf"), []byte(frr01Conf(i)), 0o644)
	}
	e.must("deploy", "--image", "quay.io/frrouting/frr:*="+dir, "--image", "wbitt/network-multitool:*=busybox", topo)
	defer e.must("destroy", "--lab", "rt-frr01")
	for _, r := range []string{"router1", "router2", "router3"} {
		poll(t, r+" with two Full OSPF neighbours", converge, func() bool { return e.ospfFull(r) == 2 })
	}
	poll(t, "PC1 reaching PC3", converge, func() bool { return e.ping("PC1", "192.168.13.2") })
	if !e.reachable("PC2", "192.168.11.2") {
		t.Error("PC2 does not reach PC1")
	}
}
