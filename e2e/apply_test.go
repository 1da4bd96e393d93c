//go:build linux

package e2e

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The base lab every apply test starts from: a bridge with three nodes and
// one point-to-point link between a and b, with a route through it.
const applyBase = `name: %s
bridges:
  lan: {}
nodes:
  a:
    interfaces: {eth0: lan}
    routes: [{to: 10.77.0.0/16, via: b}]
  b: {interfaces: {eth0: lan}}
  c: {interfaces: {eth0: lan}}
links:
  - endpoints: [a:eth1, b:eth1]
`

// applyGrown adds a bridge core with node d on it, a link c <-> d and a
// port of c on core, and removes nothing.
const applyGrown = `name: %s
bridges:
  lan: {}
  core: {}
nodes:
  a:
    interfaces: {eth0: lan}
    routes: [{to: 10.77.0.0/16, via: b}]
  b: {interfaces: {eth0: lan}}
  c: {interfaces: {eth0: lan, eth2: core}}
  d: {interfaces: {eth0: core}}
links:
  - endpoints: [a:eth1, b:eth1]
  - endpoints: [c:eth1, d:eth1]
`

func (e *env) applyLab(lab, file, text string) string {
	e.t.Helper()
	return e.writeTopo(file, fmt.Sprintf(text, lab))
}

// deployForApply writes lab's topology from the templates base and next,
// deploys base (with deployFlags) and destroys the lab when the test ends;
// it returns both files' paths.
func (e *env) deployForApply(lab, base, next string, deployFlags ...string) (baseFile, nextFile string) {
	e.t.Helper()
	baseFile = e.applyLab(lab, "base.yaml", base)
	nextFile = e.applyLab(lab, "next.yaml", next)
	e.must(append(append([]string{"deploy"}, deployFlags...), baseFile)...)
	e.t.Cleanup(func() { e.must("destroy", "--lab", lab) })
	return baseFile, nextFile
}

// addrs maps NODE:IFACE to its IPv4 address in inspect.
func (v labView) addrs() map[string]string {
	out := map[string]string{}
	for _, n := range v.Nodes {
		for _, i := range n.Interfaces {
			out[n.Name+":"+i.Name] = i.IPv4
		}
	}
	return out
}

func (v labView) pids() map[string]int {
	out := map[string]int{}
	for _, n := range v.Nodes {
		out[n.Name] = n.Pid
	}
	return out
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	got := strings.Split(strings.TrimSpace(out), "\n")
	if strings.TrimSpace(out) == "" {
		got = nil
	}
	if !slices.Equal(got, want) {
		t.Errorf("apply printed:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}

// hostLinksOf lists the host devices carrying lab's alias.
func hostLinksOf(t *testing.T, lab string) []string {
	var out []string
	for _, l := range links(t) {
		if strings.Contains(l, " leolab:"+lab+":") {
			out = append(out, l)
		}
	}
	return out
}

// TestApplyAddRemoveNodeBridgeLink grows a running lab by a bridge, a node,
// a port and a link, then shrinks it back; nodes outside the change keep
// their pids and addresses, and what was removed is gone from the host.
func TestApplyAddRemoveNodeBridgeLink(t *testing.T) {
	e := newEnv(t)
	lab := "apadd"
	base, grown := e.deployForApply(lab, applyBase, applyGrown)
	before := e.inspect(lab)
	hostBefore := hostLinksOf(t, lab)

	out := e.must("apply", grown)
	wantLines(t, out, "+ bridge core "+subnetLine(e, lab, "core"),
		"+ node d", "+ port c:eth2 on core", "+ link c:eth1 <-> d:eth1")
	after := e.inspect(lab)
	for _, n := range []string{"a", "b", "c"} {
		if after.pids()[n] != before.pids()[n] {
			t.Errorf("node %s restarted: pid %d → %d", n, before.pids()[n], after.pids()[n])
		}
	}
	for k, v := range before.addrs() {
		if after.addrs()[k] != v {
			t.Errorf("%s moved: %s → %s", k, v, after.addrs()[k])
		}
	}
	if !e.reachable("apadd/c", "d-eth1") || !e.reachable("apadd/c", "d-eth0") || !e.reachable("apadd/d", "c-eth2") {
		t.Errorf("new link or bridge does not carry traffic")
	}
	if !e.reachable("apadd/d", "d-eth0") || !e.reachable("apadd/a", "b-eth1") {
		t.Errorf("lab broken after growing")
	}

	out = e.must("apply", base)
	wantLines(t, out, "- bridge core", "- node d", "- port c:eth2 on core", "- link c:eth1 <-> d:eth1")
	shrunk := e.inspect(lab)
	if len(shrunk.Nodes) != 3 || len(shrunk.Bridges) != 1 {
		t.Errorf("after shrinking: %d nodes, %d bridges", len(shrunk.Nodes), len(shrunk.Bridges))
	}
	if got := hostLinksOf(t, lab); !slices.Equal(got, hostBefore) {
		t.Errorf("host devices after shrinking:\n%v\nwant as before growing:\n%v", got, hostBefore)
	}
	if hosts := e.must("exec", lab+"/c", "--", "cat", "/etc/hosts"); strings.Contains(hosts, "\td") || !strings.Contains(hosts, "\tb-eth1") {
		t.Errorf("/etc/hosts of c after d went:\n%s", hosts)
	}
	if r := e.run("exec", lab+"/d", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "no node") {
		t.Errorf("exec in removed node d: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat("/run/netns/" + lab + "-d"); err == nil {
		t.Errorf("netns of removed node d still registered")
	}
	if out := e.must("apply", base); strings.TrimSpace(out) != "" {
		t.Errorf("a second apply of the same file printed changes: %q", out)
	}
}

// subnetLine is the subnet inspect shows for a bridge (what "+ bridge"
// prints after the name).
func subnetLine(e *env, lab, bridge string) string {
	for _, b := range e.inspect(lab).Bridges {
		if b.Name == bridge {
			return b.Subnet
		}
	}
	return ""
}

// TestApplyInPlaceRoutesMTUNetem changes routes, a gateway, a link MTU and
// a sysctl, and netem where the kernel has it, without restarting anything.
func TestApplyInPlaceRoutesMTUNetem(t *testing.T) {
	e := newEnv(t)
	lab := "apinpl"
	_, edited := e.deployForApply(lab, applyBase, strings.NewReplacer(
		"routes: [{to: 10.77.0.0/16, via: b}]", "routes: [{to: 10.78.0.0/16, via: b}]\n    gateway: c",
		"  - endpoints: [a:eth1, b:eth1]\n", "  - endpoints: [a:eth1, b:eth1]\n    mtu: 1400\n",
		"  c: {interfaces: {eth0: lan}}", "  c: {interfaces: {eth0: lan}, sysctls: {net.ipv4.ip_forward: 1}}",
	).Replace(applyBase))
	before := e.inspect(lab)
	out := e.must("apply", edited)
	addr := before.addrs()
	bEth0 := strings.Split(addr["b:eth0"], "/")[0] // via: b is b's address on the first shared subnet
	cEth0 := strings.Split(addr["c:eth0"], "/")[0]
	wantLines(t, out,
		"~ sysctl c net.ipv4.ip_forward=1",
		"~ mtu a:eth1 1500 → 1400", "~ mtu b:eth1 1500 → 1400",
		"~ routes a + default via "+cEth0+", + 10.78.0.0/16 via "+bEth0+", - 10.77.0.0/16 via "+bEth0)
	if after := e.inspect(lab); !maps.Equal(after.pids(), before.pids()) {
		t.Errorf("pids changed: %v → %v", before.pids(), after.pids())
	}
	routes := e.must("exec", lab+"/a", "--", "ip", "route")
	for _, want := range []string{"10.78.0.0/16 via " + bEth0, "default via " + cEth0} {
		if !strings.Contains(routes, want) {
			t.Errorf("routes of a lack %q:\n%s", want, routes)
		}
	}
	if strings.Contains(routes, "10.77.0.0/16") {
		t.Errorf("removed route still there:\n%s", routes)
	}
	if link := e.must("exec", lab+"/b", "--", "ip", "link", "show", "eth1"); !strings.Contains(link, "mtu 1400") {
		t.Errorf("b:eth1 mtu not changed: %s", link)
	}
	if v := strings.TrimSpace(e.must("exec", lab+"/c", "--", "cat", "/proc/sys/net/ipv4/ip_forward")); v != "1" {
		t.Errorf("c ip_forward = %s, want 1", v)
	}

	// A rate is a tbf qdisc, which every kernel has: the in-place netem
	// path runs here whatever the kernel (the delay case below needs netem).
	t.Run("rate", func(t *testing.T) {
		plain := mustRead(t, edited)
		setFile := func(content string) {
			t.Helper()
			if err := os.WriteFile(edited, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		withRate := strings.Replace(plain, "    mtu: 1400\n", "    mtu: 1400\n    netem: {rate: 10mbit}\n", 1)
		setFile(withRate)
		wantLines(t, e.must("apply", edited), "~ netem a:eth1 rate none → 10mbit", "~ netem b:eth1 rate none → 10mbit")
		if out := e.must("netem", "show", lab+"/b:eth1"); !strings.Contains(out, "rate 10000000bit") {
			t.Errorf("netem show b:eth1 after apply: %s", out)
		}
		setFile(strings.Replace(withRate, "rate: 10mbit", "rate: 20mbit", 1))
		wantLines(t, e.must("apply", edited), "~ netem a:eth1 rate 10mbit → 20mbit", "~ netem b:eth1 rate 10mbit → 20mbit")
		if out := e.must("netem", "show", lab+"/a:eth1"); !strings.Contains(out, "rate 20000000bit") {
			t.Errorf("netem show a:eth1 after the change: %s", out)
		}
		setFile(plain)
		wantLines(t, e.must("apply", edited), "~ netem a:eth1 rate 20mbit → none", "~ netem b:eth1 rate 20mbit → none")
		if out := e.must("netem", "show", lab+"/a:eth1"); !strings.Contains(out, "no impairment") {
			t.Errorf("netem show a:eth1 after removing it: %s", out)
		}
		if after := e.inspect(lab); !maps.Equal(after.pids(), before.pids()) {
			t.Errorf("pids changed: %v → %v", before.pids(), after.pids())
		}
	})

	t.Run("netem", func(t *testing.T) {
		withNetem := strings.Replace(mustRead(t, edited), "    mtu: 1400\n", "    mtu: 1400\n    netem: {delay: 10ms}\n", 1)
		if err := os.WriteFile(edited, []byte(withNetem), 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.run("apply", edited)
		if r.code != 0 && strings.Contains(r.stderr, "netem qdisc not available") {
			t.Skip("the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)")
		}
		if r.code != 0 {
			t.Fatalf("apply netem: exit %d: %s", r.code, r.stderr)
		}
		wantLines(t, r.stdout, "~ netem a:eth1 delay 0s → 10ms", "~ netem b:eth1 delay 0s → 10ms")
		if out := e.must("netem", "show", lab+"/a:eth1"); !strings.Contains(out, "delay 10ms") {
			t.Errorf("netem show a:eth1: %s", out)
		}
		changed := strings.Replace(withNetem, "delay: 10ms", "delay: 20ms", 1)
		os.WriteFile(edited, []byte(changed), 0o644)
		wantLines(t, e.must("apply", edited), "~ netem a:eth1 delay 10ms → 20ms", "~ netem b:eth1 delay 10ms → 20ms")
		// A change made with leolab netem is what apply compares the file with.
		e.must("netem", "set", lab+"/a:eth1", "--delay", "50ms")
		wantLines(t, e.must("apply", edited), "~ netem a:eth1 delay 50ms → 20ms", "~ netem b:eth1 delay 50ms → 20ms")
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestApplyRootfsChangeRecreatesOneNode: b's rootfs changes, so b (only)
// restarts; its link to a and its bridge port come back with the same
// addresses, and a's route through the link works again.
func TestApplyRootfsChangeRecreatesOneNode(t *testing.T) {
	e := newEnv(t)
	lab := "aprec"
	_, edited := e.deployForApply(lab, applyBase, strings.Replace(applyBase, "  b: {interfaces: {eth0: lan}}", "  b: {interfaces: {eth0: lan}, rootfs: host}", 1))
	before := e.inspect(lab)
	wantLines(t, e.must("apply", edited), "~ node b recreated: rootfs changed")
	after := e.inspect(lab)
	if after.pids()["b"] == before.pids()["b"] {
		t.Errorf("b was not restarted")
	}
	for _, n := range []string{"a", "c"} {
		if after.pids()[n] != before.pids()[n] {
			t.Errorf("%s restarted too", n)
		}
	}
	if !maps.Equal(after.addrs(), before.addrs()) {
		t.Errorf("addresses changed:\n%v\n%v", before.addrs(), after.addrs())
	}
	if !e.reachable(lab+"/a", "b-eth1") || !e.reachable(lab+"/a", "b-eth0") || !e.reachable(lab+"/c", "b-eth0") {
		t.Errorf("b's link or port did not come back")
	}
	if routes := e.must("exec", lab+"/a", "--", "ip", "route"); !strings.Contains(routes, "10.77.0.0/16") {
		t.Errorf("a's route through the re-created link is gone:\n%s", routes)
	}
}

// TestApplyAddressesStayWhenANodeIsInserted: a node inserted first in the
// file takes free addresses; every existing interface keeps its own.
func TestApplyAddressesStayWhenANodeIsInserted(t *testing.T) {
	e := newEnv(t)
	lab := "apaddr"
	_, edited := e.deployForApply(lab, applyBase, strings.Replace(applyBase, "nodes:\n", "nodes:\n  first: {interfaces: {eth0: lan}}\n", 1))
	before := e.inspect(lab).addrs()
	wantLines(t, e.must("apply", edited), "+ node first")
	after := e.inspect(lab).addrs()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s moved: %s → %s", k, v, after[k])
		}
	}
	if slices.Contains(slices.Collect(maps.Values(before)), after["first:eth0"]) || after["first:eth0"] == "" {
		t.Errorf("inserted node got %q, want a free address", after["first:eth0"])
	}
	if !e.reachable(lab+"/first", "c-eth0") {
		t.Errorf("inserted node cannot reach c")
	}
}

// TestApplyZeroLossOnUnchangedPaths pings 10 times a second between two
// nodes the change does not touch, across the bridge and across their link,
// while nodes, a bridge and links are added and removed elsewhere: not one
// packet may be lost.
func TestApplyZeroLossOnUnchangedPaths(t *testing.T) {
	e := newEnv(t)
	lab := "aploss"
	base, grown := e.deployForApply(lab, applyBase, applyGrown)
	type res struct {
		r   result
		dst string
	}
	done := make(chan res, 2)
	const count = 60 // 6 s at 10 pps, longer than the applies below
	for _, dst := range []string{"b-eth0", "b-eth1"} {
		go func() {
			done <- res{e.run("exec", lab+"/a", "--", "ping", "-i", "0.1", "-c", strconv.Itoa(count), "-W", "2", dst), dst}
		}()
	}
	waitFor(t, "pings to start", 10e9, func() bool {
		return icmpInEchos(e.must("exec", lab+"/b", "--", "cat", "/proc/net/snmp")) >= 10
	})
	e.must("apply", grown)
	e.must("apply", base)
	e.must("apply", grown)
	for range 2 {
		r := <-done
		if r.r.code != 0 || !strings.Contains(r.r.stdout, fmt.Sprintf("%d packets transmitted, %d packets received", count, count)) {
			t.Errorf("ping a → %s during applies lost packets: exit %d\n%s%s", r.dst, r.r.code, r.r.stdout, r.r.stderr)
		}
	}
}

// icmpInEchos reads Icmp InEchos (echo requests received) from /proc/net/snmp.
func icmpInEchos(snmp string) int {
	var names []string
	for _, line := range strings.Split(snmp, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Icmp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "InEchos" && i < len(f) {
				v, _ := strconv.Atoi(f[i])
				return v
			}
		}
	}
	return 0
}

// applySteps are the reconciler's step boundaries (LEOLAB_FAULT_AT="apply: STEP").
var applySteps = []string{"remove links", "remove nodes", "remove bridges", "create bridges", "start nodes", "create ports", "create links", "configure nodes", "change in place"}

// TestApplyKilledAtEveryStep kills apply (SIGKILL) at each step boundary of
// a change that adds, removes and recreates; apply again converges to the
// file, and destroy then leaves the host as it was. Killed again, destroy
// alone does too.
func TestApplyKilledAtEveryStep(t *testing.T) {
	// from → to removes d's link and c's port, adds e, recreates b, changes a's routes.
	to := strings.NewReplacer(
		"  d: {interfaces: {eth0: core}}", "  e: {interfaces: {eth0: core}}",
		"  c: {interfaces: {eth0: lan, eth2: core}}", "  c: {interfaces: {eth0: lan}}",
		"  - endpoints: [c:eth1, d:eth1]\n", "  - endpoints: [c:eth1, e:eth1]\n",
		"  b: {interfaces: {eth0: lan}}", "  b: {interfaces: {eth0: lan}, env: {X: y}}",
		"via: b}]", "via: b}, {to: 10.78.0.0/16, via: b}]",
	).Replace(applyGrown)
	for _, step := range applySteps {
		for _, then := range []string{"apply", "destroy"} {
			t.Run(strings.ReplaceAll(step, " ", "_")+"/"+then, func(t *testing.T) {
				e := newEnv(t)
				lab := "apkill"
				from := e.applyLab(lab, "from.yaml", applyGrown)
				target := e.applyLab(lab, "to.yaml", to)
				e.must("deploy", from)
				r := e.runEnv([]string{"LEOLAB_FAULT_AT=apply: " + step}, "apply", target)
				if r.code != 128+int(syscall.SIGKILL) {
					t.Fatalf("apply with fault at %q: exit %d, want killed\n%s", step, r.code, r.stderr)
				}
				if then == "apply" {
					e.must("apply", target)
					v := e.inspect(lab)
					var names []string
					for _, n := range v.Nodes {
						names = append(names, n.Name+"="+n.State)
					}
					if want := []string{"a=running", "b=running", "c=running", "e=running"}; !slices.Equal(names, want) {
						t.Errorf("after apply again: nodes %v, want %v", names, want)
					}
					if !e.reachable(lab+"/a", "b-eth1") || !e.reachable(lab+"/c", "e-eth1") || !e.reachable(lab+"/a", "c-eth0") {
						t.Errorf("lab does not carry traffic after converging")
					}
					if out := e.must("apply", target); strings.TrimSpace(out) != "" {
						t.Errorf("converged lab still differs:\n%s", out)
					}
				}
				e.must("destroy", "--lab", lab)
			})
		}
	}
}

// TestApplyFailureRollsBack: a new node whose exec line fails fails the
// apply; the lab is as it was (the removed node is back, the added one
// gone, nodes outside the change untouched).
func TestApplyFailureRollsBack(t *testing.T) {
	e := newEnv(t)
	lab := "aprb"
	base, bad := e.deployForApply(lab, applyGrown, strings.NewReplacer(
		"  d: {interfaces: {eth0: core}}", "  x: {interfaces: {eth0: core}, exec: ['false']}",
		"  - endpoints: [c:eth1, d:eth1]\n", "",
	).Replace(applyGrown))
	before := e.inspect(lab)
	r := e.run("apply", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "node x") {
		t.Fatalf("apply with a failing exec: exit %d\n%s", r.code, r.stderr)
	}
	after := e.inspect(lab)
	var names []string
	for _, n := range after.Nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c", "d"}) {
		t.Errorf("nodes after rollback %v, want a b c d", names)
	}
	for _, n := range []string{"a", "b", "c"} {
		if after.pids()[n] != before.pids()[n] {
			t.Errorf("%s restarted by a failed apply", n)
		}
	}
	if !maps.Equal(after.addrs(), before.addrs()) {
		t.Errorf("addresses after rollback:\n%v\nwant\n%v", after.addrs(), before.addrs())
	}
	if !e.reachable(lab+"/c", "d-eth1") || !e.reachable(lab+"/c", "d-eth0") {
		t.Errorf("d's link and port are not back")
	}
	if out := e.must("apply", "--dry-run", base); strings.TrimSpace(out) != "" {
		t.Errorf("lab differs from its file after rollback:\n%s", out)
	}
}

// TestApplyDryRunChangesNothing: the difference is printed, and the host
// (links, namespaces, processes, files under the root…) is identical.
func TestApplyDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	lab := "apdry"
	_, grown := e.deployForApply(lab, applyBase, applyGrown)
	state := mustRead(t, e.root+"/labs/"+lab+"/state.json")
	before := takeSnapshot(t, e.root)
	out := e.must("apply", "--dry-run", grown)
	if !strings.Contains(out, "+ node d") {
		t.Errorf("dry run printed %q", out)
	}
	if diff := before.diff(takeSnapshot(t, e.root), e.foreign); diff != "" {
		t.Errorf("dry run changed the host:\n%s", diff)
	}
	if mustRead(t, e.root+"/labs/"+lab+"/state.json") != state {
		t.Errorf("dry run rewrote the state")
	}
	js := e.must("apply", "--dry-run", "--format", "json", grown)
	if !strings.Contains(js, `"op": "+"`) || !strings.Contains(js, `"what": "node"`) {
		t.Errorf("json dry run: %s", js)
	}
}

// TestApplyDeploysAStoppedLabAndDeployRefusesARunningOne: apply of a lab
// that is not running deploys it; deploy of a running lab points at apply.
func TestApplyDeploysAStoppedLabAndDeployRefusesARunningOne(t *testing.T) {
	e := newEnv(t)
	lab := "apnew"
	base := e.applyLab(lab, "base.yaml", applyBase)
	out := e.must("apply", base)
	if !strings.Contains(out, "+ node a") {
		t.Errorf("apply of a new lab printed %q", out)
	}
	defer e.must("destroy", "--lab", lab)
	if !e.reachable(lab+"/a", "b-eth1") {
		t.Errorf("lab deployed by apply does not work")
	}
	r := e.run("deploy", base)
	if r.code != 1 || !strings.Contains(r.stderr, "leolab apply") {
		t.Errorf("deploy of a running lab: exit %d: %s", r.code, r.stderr)
	}
}

// TestExampleLiveEdit applies live-edit-2.yaml over live-edit.yaml and
// back: both files' checks pass, and only what the edit names restarts.
func TestExampleLiveEdit(t *testing.T) {
	e := newEnv(t)
	e.own("live-edit")
	before, after := example(t, "live-edit.yaml"), example(t, "live-edit-2.yaml")
	e.must("deploy", before)
	defer e.must("destroy", "--lab", "live-edit")
	e.mustCheck(before)
	pids := e.inspect("live-edit").pids()
	out := e.must("apply", after)
	for _, want := range []string{"+ bridge lan2", "+ node h3", "~ node h2 recreated: env changed", "+ link h1:eth1 <-> h2:eth1", "~ routes h1 + default via"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply printed no %q:\n%s", want, out)
		}
	}
	e.mustCheck(after)
	now := e.inspect("live-edit").pids()
	if now["r1"] != pids["r1"] || now["h1"] != pids["h1"] || now["h2"] == pids["h2"] {
		t.Errorf("pids %v → %v: want r1 and h1 kept, h2 restarted", pids, now)
	}
	e.must("apply", before)
	e.mustCheck(before)
	if out := e.must("apply", "--dry-run", before); strings.TrimSpace(out) != "" {
		t.Errorf("back at the first file, apply still sees:\n%s", out)
	}
}

// TestApplyIsolatedLab grows and shrinks a lab deployed --isolated: its
// bridges stay in the lab namespace (nothing on the host's links), and
// apply needs no flag to keep it so.
func TestApplyIsolatedLab(t *testing.T) {
	e := newEnv(t)
	lab := "apiso"
	base, grown := e.deployForApply(lab, applyBase, applyGrown, "--isolated")
	wantLines(t, e.must("apply", grown), "+ bridge core 172.20.2.0/24", "+ node d", "+ port c:eth2 on core", "+ link c:eth1 <-> d:eth1")
	if got := hostLinksOf(t, lab); len(got) != 0 {
		t.Errorf("isolated lab has host links after apply: %v", got)
	}
	if !e.reachable(lab+"/c", "d-eth0") || !e.reachable(lab+"/c", "d-eth1") {
		t.Errorf("new node unreachable in the isolated lab")
	}
	wantLines(t, e.must("apply", base), "- bridge core", "- node d", "- port c:eth2 on core", "- link c:eth1 <-> d:eth1")
	if !e.reachable(lab+"/a", "b-eth1") {
		t.Errorf("isolated lab broken after shrinking")
	}
}
