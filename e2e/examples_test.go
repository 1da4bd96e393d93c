//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"leolab/topology"
)

// Every file in labs/examples/ is deployed, exercised and destroyed by one
// test here (demo.yaml by TestDemoLabPingAcrossRouter), each under newEnv's
// host snapshot.

// exampleTests maps each example file to the test that exercises it.
var exampleTests = map[string]string{
	"demo.yaml":            "TestDemoLabPingAcrossRouter",
	"leopard.yaml":         "TestExampleLeopard",
	"two-lans.yaml":        "TestExampleTwoLANs",
	"ospf-less-chain.yaml": "TestExampleOSPFLessChain",
	"nat.yaml":             "TestExampleNAT",
	"star-20.yaml":         "TestExampleStar20",
	"ospf-triangle.yaml":   "TestExampleOSPFTriangle",
	"bgp-three-as.yaml":    "TestExampleBGPThreeAS",
	"bird-ospf.yaml":       "TestExampleBirdOSPF",
	"dual-stack.yaml":      "TestExampleDualStack",
	"live-edit.yaml":       "TestExampleLiveEdit",
	"live-edit-2.yaml":     "TestExampleLiveEdit",
}

func example(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "labs", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEveryExampleIsExercised keeps the table above complete, and every
// example documented: a comment header saying what to try, and checks:
// saying what working means.
func TestEveryExampleIsExercised(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "labs", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if exampleTests[base] == "" {
			t.Errorf("example %s has no test in exampleTests", base)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "# ") || !strings.Contains(string(data), "# Try:") {
			t.Errorf("example %s lacks a comment header with a \"Try:\" section", base)
		}
		// What "working" means for it, which its test checks with leolab check.
		if plan, err := topology.Load(f, topology.Options{}); err != nil {
			t.Errorf("example %s: %v", base, err)
		} else if len(plan.Checks) == 0 {
			t.Errorf("example %s has no checks: section", base)
		}
	}
}

// ping runs one ping inside node and reports whether it was answered.
func (e *env) ping(node, target string) bool {
	e.t.Helper()
	return e.run("exec", node, "--", "ping", "-c", "1", "-W", "2", target).code == 0
}

// reachable pings up to five times: a port that just came back up may need
// a moment for its carrier to reach the bridge.
func (e *env) reachable(node, target string) bool {
	e.t.Helper()
	return fiveTries(func() bool { return e.ping(node, target) })
}

// fiveTries reports whether ok holds at one of up to five tries.
func fiveTries(ok func() bool) bool {
	for range 5 {
		if ok() {
			return true
		}
	}
	return false
}

// labView is the part of `inspect --format json` these tests read.
type labView struct {
	Name    string
	Bridges []struct{ Name, Subnet, Gateway string }
	Nodes   []struct {
		Name, State string
		Pid         int
		Interfaces  []struct{ Name, Bridge, Peer, IPv4 string }
	}
}

func (e *env) inspect(lab string) labView {
	e.t.Helper()
	var v labView
	if err := json.Unmarshal([]byte(e.must("inspect", "--lab", lab, "--format", "json")), &v); err != nil {
		e.t.Fatalf("inspect %s: %v", lab, err)
	}
	return v
}

// TestExampleLeopard walks the namespace walk-through on the live node:
// UTS, user, PID, mount and network, each checked from inside and outside.
func TestExampleLeopard(t *testing.T) {
	e := newEnv(t)
	topo := example(t, "leopard.yaml")
	e.must("deploy", topo)
	defer e.must("destroy", topo)
	e.mustCheck(topo)

	// UTS: its own hostname.
	if out := e.must("exec", "leopard", "hostname"); strings.TrimSpace(out) != "leopard" {
		t.Errorf("hostname = %q, want leopard", out)
	}
	// user: root inside, an unprivileged uid range outside.
	if out := e.must("exec", "leopard", "id", "-u"); strings.TrimSpace(out) != "0" {
		t.Errorf("uid inside = %q, want 0", out)
	}
	uidMap := strings.Fields(e.must("exec", "leopard", "cat", "/proc/self/uid_map"))
	if len(uidMap) != 3 || uidMap[0] != "0" || uidMap[1] == "0" {
		t.Errorf("uid_map = %v, want node root mapped to a non-root host uid", uidMap)
	}
	v := e.inspect("leopard")
	if len(v.Nodes) != 1 || v.Nodes[0].Pid == 0 {
		t.Fatalf("inspect: %+v", v)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(v.Nodes[0].Pid), &st); err != nil || st.Uid == 0 {
		t.Errorf("node init on the host: uid %d (%v), want unprivileged", st.Uid, err)
	}
	// PID: init is PID 1 of its own numbering.
	if out := e.must("exec", "leopard", "cat", "/proc/1/cmdline"); !strings.Contains(out, "leolab-init") {
		t.Errorf("PID 1 inside is %q, want leolab-init", out)
	}
	if out := e.must("exec", "leopard", "sh", "-c", "echo $$"); strings.TrimSpace(out) == strconv.Itoa(v.Nodes[0].Pid) {
		t.Errorf("node sees host pid numbering")
	}
	// mount: a tmpfs /tmp nobody else sees.
	if out := e.must("exec", "leopard", "cat", "/proc/mounts"); !regexp.MustCompile(`(?m)^\S+ /tmp tmpfs `).MatchString(out) {
		t.Errorf("no tmpfs /tmp in the node:\n%s", out)
	}
	marker := fmt.Sprintf("/tmp/leopard-%d.txt", os.Getpid())
	e.must("exec", "leopard", "sh", "-c", "echo leopard > "+marker)
	if out := e.must("exec", "leopard", "cat", marker); strings.TrimSpace(out) != "leopard" {
		t.Errorf("file in the node's /tmp: %q", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("%s written in the node appeared on the host", marker)
	}
	// net: eth0 on br0 with the walk-through's subnet; the host answers on .1.
	if out := e.must("exec", "leopard", "ip", "-4", "addr", "show", "eth0"); !strings.Contains(out, "172.20.1.2/24") {
		t.Errorf("eth0:\n%s", out)
	}
	if !e.ping("leopard", "172.20.1.1") {
		t.Error("the host gateway 172.20.1.1 does not answer")
	}
	if out := e.must("exec", "leopard", "ip", "route"); !strings.Contains(out, "default via 172.20.1.1") {
		t.Errorf("routes:\n%s", out)
	}
	// Every namespace differs from the host's.
	for _, ns := range []string{"uts", "user", "pid", "mnt", "net", "ipc"} {
		host, _ := os.Readlink("/proc/self/ns/" + ns)
		nodeNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", v.Nodes[0].Pid, ns))
		if err != nil || nodeNS == host {
			t.Errorf("namespace %s: node %q, host %q (%v)", ns, nodeNS, host, err)
		}
	}
}

// TestExampleTwoLANs routes between two automatically addressed LANs, cuts
// the router's leg and restores it.
func TestExampleTwoLANs(t *testing.T) {
	e := newEnv(t)
	topo := example(t, "two-lans.yaml")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "two-lans")

	v := e.inspect("two-lans")
	addr := map[string]string{} // NODE:IFACE → address without the length
	for _, n := range v.Nodes {
		for _, ifc := range n.Interfaces {
			addr[n.Name+":"+ifc.Name], _, _ = strings.Cut(ifc.IPv4, "/")
		}
	}
	e.mustCheck(topo)
	if !e.ping("a1", "b1") || !e.ping("b2", "a2") {
		t.Fatal("no route across r1")
	}
	trace := e.must("exec", "a1", "--", "traceroute", "-n", "-w", "2", "-m", "4", "b1")
	if !strings.Contains(trace, addr["r1:eth0"]) || !strings.Contains(trace, addr["b1:eth0"]) {
		t.Errorf("traceroute a1 → b1 does not go through r1 (%s):\n%s", addr["r1:eth0"], trace)
	}
	e.must("link", "down", "r1:eth1")
	if e.ping("a1", "b1") {
		t.Error("a1 reaches b1 with r1:eth1 down")
	}
	// The teacher's view of the cut: the checks across r1 fail, the one
	// inside LAN a does not.
	failed := e.failedChecks("check", "--timeout", "0s", "--format", "json", topo)
	if want := "a1 reaches b1,b2 reaches a2"; failed != want {
		t.Errorf("checks failing with r1:eth1 down: %s, want %s", failed, want)
	}
	// … and trace names the cut: r1's port on LAN b has no carrier.
	if tr, code := e.trace("a1", "b1"); code != 1 || tr.Verdict == nil || tr.Verdict.Node != "r1" || tr.Verdict.Reason != "link down" ||
		!strings.Contains(tr.Verdict.Detail, "r1:eth1 has no carrier") {
		t.Errorf("trace a1 b1 with r1:eth1 down: exit %d, verdict %+v", code, tr.Verdict)
	}
	if !e.ping("b1", "b2") {
		t.Error("LAN b broke inside itself when r1:eth1 went down")
	}
	e.must("link", "up", "r1:eth1")
	if !e.reachable("a1", "b1") {
		t.Error("a1 cannot reach b1 after r1:eth1 came back")
	}
	if out := e.must("pingall", "two-lans"); !strings.Contains(out, "0% dropped (20/20 received)") {
		t.Errorf("pingall:\n%s", out)
	}
}

// TestExampleOSPFLessChain checks static routing over three p2p hops. The
// kernel may lack netem: then the chain is deployed without its delay and
// only the delay check is skipped.
func TestExampleOSPFLessChain(t *testing.T) {
	e := newEnv(t)
	topo := example(t, "ospf-less-chain.yaml")
	withDelay := true
	r := e.run("deploy", topo)
	if r.code != 0 {
		if !strings.Contains(r.stderr, "CONFIG_NET_SCH_NETEM") {
			t.Fatalf("deploy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		withDelay = false
		data, err := os.ReadFile(topo)
		if err != nil {
			t.Fatal(err)
		}
		stripped := regexp.MustCompile(`(?m)^\s*netem: .*\n`).ReplaceAllString(string(data), "")
		if stripped == string(data) {
			t.Fatal("no netem lines to strip")
		}
		e.must("deploy", e.writeTopo("chain.yaml", stripped))
	}
	defer e.must("destroy", "--lab", "ospf-less-chain")
	e.mustCheck("--lab", "ospf-less-chain")

	if !e.ping("h1", "h2") {
		t.Fatal("h1 cannot reach h2 over the chain")
	}
	trace := e.must("exec", "h1", "--", "traceroute", "-n", "-w", "2", "-m", "6", "10.10.2.10")
	hops := regexp.MustCompile(`(?m)^\s*\d+\s+(\S+)`).FindAllStringSubmatch(trace, -1)
	var got []string
	for _, h := range hops {
		got = append(got, h[1])
	}
	if want := "10.10.1.1 10.10.12.2 10.10.23.2 10.10.2.10"; strings.Join(got, " ") != want {
		t.Errorf("hops %v, want %s\n%s", got, want, trace)
	}
	// No detour: cutting the middle cuts h1 off h2, and restoring restores it.
	e.must("link", "down", "r2:eth2")
	if e.ping("h1", "h2") {
		t.Error("h1 reaches h2 with r2:eth2 down")
	}
	e.must("link", "up", "r2:eth2")
	if !e.reachable("h1", "h2") {
		t.Errorf("h1 cannot reach h2 after r2:eth2 came back; routes of r2 and r3 now:\n%s%s",
			e.must("exec", "r2", "ip", "route"), e.must("exec", "r3", "ip", "route"))
	}
	t.Run("delay", func(t *testing.T) {
		if !withDelay {
			t.Skip("kernel has no netem qdisc (CONFIG_NET_SCH_NETEM): deployed without the 10ms link delays")
		}
		for _, end := range []string{"r1:eth1", "r2:eth1", "r2:eth2", "r3:eth1"} {
			if out := e.must("netem", "show", end); !strings.Contains(out, "10ms") {
				t.Errorf("netem show %s: %q, want the 10ms delay", end, out)
			}
		}
	})
}

// TestExampleNAT proves masquerading without leaving the machine: an
// "outside" namespace this test creates has no route back to the lab's
// LAN, so a node's ping is only answered if the host rewrote its source.
func TestExampleNAT(t *testing.T) {
	e := newEnv(t)
	topo := example(t, "nat.yaml")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "nat")
	e.mustCheck(topo)

	v := e.inspect("nat")
	if len(v.Bridges) != 1 || v.Bridges[0].Gateway == "" {
		t.Fatalf("inspect bridges: %+v", v.Bridges)
	}
	gw, subnet := v.Bridges[0].Gateway, v.Bridges[0].Subnet
	for _, n := range []string{"n1", "n2"} {
		if out := e.must("exec", n, "ip", "route"); !strings.Contains(out, "default via "+gw) {
			t.Errorf("%s has no default route via %s:\n%s", n, gw, out)
		}
	}
	rules := natRules("iptables")
	if !regexp.MustCompile(`-s ` + regexp.QuoteMeta(subnet) + ` .*-j MASQUERADE`).MatchString(rules) {
		t.Errorf("no MASQUERADE rule for %s:\n%s", subnet, rules)
	}
	outside := newOutside(t)
	defer outside.remove()
	if !e.ping("n1", outside.addr) {
		t.Errorf("n1 cannot reach %s in the outside namespace through NAT", outside.addr)
	}
}

// outsideNS is a throwaway namespace standing for "the internet": a veth
// from the host, 198.51.100.0/24 (TEST-NET-2), and no route to anything else.
type outsideNS struct {
	t          *testing.T
	name, host string
	addr       string
}

func newOutside(t *testing.T) *outsideNS {
	t.Helper()
	return newOutsideNS(t, "llout", "llo", "198.51.100.1/24", "198.51.100.2/24")
}

// newOutsideNS makes namespace NAME<pid> with eth0 at addr, joined by a
// veth to HOST<pid> at hostAddr on the host; addrFlags go with both
// addresses.
func newOutsideNS(t *testing.T, name, host, hostAddr, addr string, addrFlags ...string) *outsideNS {
	t.Helper()
	a, _, _ := strings.Cut(addr, "/")
	o := &outsideNS{t: t, name: fmt.Sprintf("%s%d", name, os.Getpid()%100000), host: fmt.Sprintf("%s%d", host, os.Getpid()%100000), addr: a}
	steps := [][]string{
		{"netns", "add", o.name},
		{"link", "add", o.host, "type", "veth", "peer", "name", "eth0", "netns", o.name},
		append([]string{"addr", "add", hostAddr, "dev", o.host}, addrFlags...),
		{"link", "set", o.host, "up"},
		append([]string{"-n", o.name, "addr", "add", addr, "dev", "eth0"}, addrFlags...),
		{"-n", o.name, "link", "set", "eth0", "up"},
		{"-n", o.name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			o.remove()
			t.Fatalf("ip %s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return o
}

// natRules is the nat table of family bin (iptables or ip6tables) in both
// backends, whichever leolab chose.
func natRules(bin string) string {
	var rules string
	for _, b := range []string{bin, bin + "-legacy"} {
		out, _ := exec.Command(b, "-t", "nat", "-S").Output()
		rules += string(out)
	}
	return rules
}

func (o *outsideNS) remove() {
	exec.Command("ip", "link", "del", o.host).Run()
	exec.Command("ip", "netns", "del", o.name).Run()
}

// TestExampleStar20: twenty hosts on one switch; pingall reports no loss,
// and exactly one host's pairs fail once its port is down.
func TestExampleStar20(t *testing.T) {
	e := newEnv(t)
	topo := example(t, "star-20.yaml")
	e.must("deploy", "-q", topo)
	defer e.must("destroy", "--lab", "star-20")

	if v := e.inspect("star-20"); len(v.Nodes) != 20 {
		t.Fatalf("%d nodes, want 20", len(v.Nodes))
	}
	e.mustCheck(topo)
	out := e.must("pingall", "star-20")
	if !strings.Contains(out, "*** Results: 0% dropped (380/380 received)") {
		t.Errorf("pingall:\n%s", out)
	}
	e.must("link", "down", "h7:eth0")
	r := e.run("pingall", "star-20")
	if r.code != 1 || !strings.Contains(r.stdout, "(342/380 received)") || !strings.Contains(r.stdout, "h7 -> X X") {
		t.Errorf("pingall with h7 down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.must("link", "up", "h7:eth0")
	if !e.reachable("h7", "h1") {
		t.Error("h7 cannot reach h1 after its port came back")
	}
}

// TestContainerlabTopology deploys labs written in containerlab's syntax
// with --rootfs busybox (no image pulls): the routers lab's exec lines,
// binds, env, cmd and links all work, and a kind: bridge becomes a bridge
// that leolab creates and removes.
func TestContainerlabTopology(t *testing.T) {
	e := newEnv(t)
	routers, _ := filepath.Abs("../topology/testdata/clab/routers.clab.yml")
	e.must("deploy", "--rootfs", "busybox", routers)
	defer e.must("destroy", routers)

	// Across both routers, to the web server h2's cmd started (retried: cmd
	// starts alongside the deploy's last steps; busybox wget -T crashes).
	fetch := "for i in 1 2 3 4 5; do wget -qO- http://192.168.2.2:8080/ && exit 0; sleep 1; done; exit 1"
	if out := e.must("exec", "h1", "--", "sh", "-c", fetch); strings.TrimSpace(out) != "hello from h2" {
		t.Errorf("h1 → h2's httpd: %q", out)
	}
	if out := e.must("exec", "h2", "--", "sh", "-c", "echo $LAB $ROLE"); strings.TrimSpace(out) != "routers web" {
		t.Errorf("h2 env: %q, want node > group > defaults", out)
	}
	for node, want := range map[string]string{"r1": "r1 own config", "r2": "common"} {
		if out := e.must("exec", node, "cat", "/etc/lab/role"); strings.TrimSpace(out) != want {
			t.Errorf("%s /etc/lab/role = %q, want %q", node, out, want)
		}
	}
	if out := e.must("exec", "r1", "--", "ip", "-4", "addr", "show", "eth0"); !strings.Contains(out, "172.20.30.11/24") {
		t.Errorf("r1 eth0 not at its mgmt-ipv4:\n%s", out)
	}
	if out := e.must("exec", "h1", "--", "ip", "link", "show", "eth1"); !strings.Contains(out, "mtu 1400") {
		t.Errorf("h1 eth1 mtu:\n%s", out)
	}
	// Every node on the management network, as in containerlab.
	if out := e.must("pingall", "clab-routers"); !strings.Contains(out, "0% dropped (12/12 received)") {
		t.Errorf("pingall over mgmt:\n%s", out)
	}

	bridged, _ := filepath.Abs("../topology/testdata/clab/bridge.clab.yml")
	e.must("deploy", "--rootfs", "busybox", bridged)
	defer e.must("destroy", "--lab", "clab-bridge")
	if !e.ping("a", "10.77.0.2") || !e.ping("b", "10.77.0.3") {
		t.Error("nodes on the kind: bridge cannot reach each other")
	}
	v := e.inspect("clab-bridge")
	if len(v.Bridges) != 2 || v.Bridges[1].Name != "br-lan" || v.Bridges[1].Gateway != "" {
		t.Errorf("bridges %+v, want mgmt and br-lan without a host address", v.Bridges)
	}
}

// mustCheck runs leolab check (with args: FILE, or --lab LAB) the way a
// teacher would, and fails the test unless every check passes.
func (e *env) mustCheck(args ...string) {
	e.t.Helper()
	e.mustCheckWithin(30*time.Second, args...)
}

// mustCheckWithin is mustCheck with checks retried for up to timeout (a
// routing lab converges in its own time).
func (e *env) mustCheckWithin(timeout time.Duration, args ...string) {
	e.t.Helper()
	r := e.run(append([]string{"check", "--timeout", timeout.String()}, args...)...)
	if r.code != 0 || !strings.Contains(r.stdout, " 0 failed") {
		e.t.Fatalf("leolab check %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
}

// failedChecks runs leolab check with args (which include --format json)
// and returns the names of the checks that failed, comma-separated; the
// exit status must be 1 when some failed and 0 when none did.
func (e *env) failedChecks(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	var results []struct {
		Name   string
		OK     bool
		Detail string
	}
	if err := json.Unmarshal([]byte(r.stdout), &results); err != nil {
		e.t.Fatalf("leolab %s: %v\n%s%s", strings.Join(args, " "), err, r.stdout, r.stderr)
	}
	var failed []string
	for _, res := range results {
		if !res.OK {
			failed = append(failed, res.Name)
		}
	}
	if want := min(len(failed), 1); r.code != want {
		e.t.Errorf("leolab %s: exit %d with %d failed checks, want %d", strings.Join(args, " "), r.code, len(failed), want)
	}
	return strings.Join(failed, ",")
}
