//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The teaching tools against real labs: leolab check's exit statuses,
// formats and retries, deploy --check, and leolab trace naming the node and
// reason of one fault per lab.

// pair is two nodes on one lab-internal bridge, with checks that pass.
const pair = `name: %s
bridges: {lan: {subnet: 10.63.1.0/24, gateway: false}}
nodes:
  r1: {interfaces: {eth0: {bridge: lan, ipv4: 10.63.1.1}}}
  h1: {interfaces: {eth0: {bridge: lan, ipv4: 10.63.1.10}}}
checks:
  - reach: {from: h1, to: r1}
  - route: {node: h1, to: 10.63.1.0/24, dev: eth0, proto: kernel}
  - daemon: {node: r1, name: leolab-init}
  - exec: {node: r1, cmd: [hostname], output: "^r1"}
`

// TestCheckExitCodesAndFormats: 0 when every check passes (deploy --check
// included), 1 when one fails (JUnit XML that parses, naming the failure),
// 2 for an invalid checks file, with every error at FILE:LINE:COL.
func TestCheckExitCodesAndFormats(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("codes.yaml", strings.Replace(pair, "%s", "tc-codes", 1))
	if out := e.must("deploy", "--check", topo); strings.Count(out, "PASS") != 4 || !strings.Contains(out, "4 passed, 0 failed") {
		t.Errorf("deploy --check output:\n%s", out)
	}
	defer e.must("destroy", "--lab", "tc-codes")
	e.mustCheck(topo)

	bad := e.writeTopo("bad-checks.yaml", `checks:
  - reach: {from: h9, to: r1}
  - route: {node: r1, to: 10.63.1.1/24, dev: eth7}
  - exec: {node: r1, cmd: "true", output: "(x"}
`)
	r := e.run("check", "--lab", "tc-codes", "--checks", bad)
	wantErrs := []string{
		bad + ":2:19: reach check: unknown node \"h9\"",
		bad + ":3:27: route check: to 10.63.1.1/24 has host bits set (did you mean 10.63.1.0/24?)",
		bad + ":3:46: route check: node r1 has no interface \"eth7\"",
		bad + ":4:43: exec check: output is not a regular expression",
	}
	if r.code != 2 {
		t.Errorf("invalid checks file: exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, w := range wantErrs {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("invalid checks file: no %q in:\n%s", w, r.stderr)
		}
	}
	if r := e.run("check", "--lab", "tc-codes", "--format", "xml"); r.code != 2 {
		t.Errorf("--format xml: exit %d, want 2", r.code)
	}

	failing := e.writeTopo("failing.yaml", `checks:
  - name: r1 knows the way out
    route: {node: r1, to: 10.63.77.0/24}
  - reach: {from: r1, to: h1}
`)
	r = e.run("check", "--lab", "tc-codes", "--checks", failing, "--timeout", "1s", "--format", "junit")
	if r.code != 1 {
		t.Errorf("failing check: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("junit output does not parse: %v\n%s", err, r.stdout)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Tests != 2 || doc.Suites[0].Failures != 1 {
		t.Fatalf("junit suites: %+v", doc.Suites)
	}
	c := doc.Suites[0].Cases
	if c[0].Name != "r1 knows the way out" || c[0].Failure == nil ||
		c[0].Failure.Message != "no route to 10.63.77.0/24 in the main table" || c[1].Failure != nil {
		t.Errorf("junit cases: %+v", c)
	}
}

// TestCheckRetriesUntilTrue: a route check that fails at first is retried
// and passes once the route is added while check runs. The route is added
// only after check has reported the first failed attempt ("waiting"), so
// the outcome never depends on how fast either side is.
func TestCheckRetriesUntilTrue(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("retry.yaml", strings.Replace(pair, "%s", "tc-retry", 1))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "tc-retry")
	later := e.writeTopo("later.yaml", "checks:\n  - route: {node: h1, to: 10.63.50.0/24, via: 10.63.1.1}\n")

	cmd := exec.Command(binary, "--root", e.root, "check", "--lab", "tc-retry", "--checks", later,
		"--timeout", "120s", "--format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	waiting := false
	for !waiting && lines.Scan() {
		waiting = strings.HasPrefix(lines.Text(), "waiting: h1 has a route to 10.63.50.0/24")
	}
	if waiting {
		e.must("exec", "h1", "--", "ip", "route", "add", "10.63.50.0/24", "via", "10.63.1.1")
	}
	go io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	if !waiting {
		t.Fatalf("check never reported the failing attempt (exit %v)\n%s", err, stdout.String())
	}
	var results []struct {
		OK       bool
		Attempts int
		Detail   string
	}
	if jerr := json.Unmarshal([]byte(stdout.String()), &results); jerr != nil || len(results) != 1 {
		t.Fatalf("json: %v\n%s", jerr, stdout.String())
	}
	if err != nil || !results[0].OK || results[0].Attempts < 2 {
		t.Errorf("check after the route was added: %v %+v, want exit 0, ok after at least 2 attempts", err, results[0])
	}
}

// faultLab is h1 --a-- r1 ==link== r2 --b-- h2, routed statically, with the
// node lines in faults replacing the working ones.
func faultLab(name string, faults map[string]string) string {
	nodes := map[string]string{
		"h1": "{interfaces: {eth0: {bridge: a, ipv4: 10.62.1.10}}, gateway: r1}",
		"r1": "{interfaces: {eth0: {bridge: a, ipv4: 10.62.1.1}}, sysctls: {net.ipv4.ip_forward: 1}, routes: [{to: 10.62.2.0/24, via: r2}]}",
		"r2": "{interfaces: {eth0: {bridge: b, ipv4: 10.62.2.1}}, sysctls: {net.ipv4.ip_forward: 1}, routes: [{to: 10.62.1.0/24, via: r1}]}",
		"h2": "{interfaces: {eth0: {bridge: b, ipv4: 10.62.2.20}}, gateway: r2}",
	}
	for n, line := range faults {
		nodes[n] = line
	}
	var b strings.Builder
	b.WriteString("name: " + name + "\n")
	b.WriteString("bridges: {a: {subnet: 10.62.1.0/24, gateway: false}, b: {subnet: 10.62.2.0/24, gateway: false}}\nnodes:\n")
	for _, n := range []string{"h1", "r1", "r2", "h2"} {
		b.WriteString("  " + n + ": " + nodes[n] + "\n")
	}
	b.WriteString("links:\n  - {endpoints: [r1:eth1, r2:eth1], subnet: 10.62.9.0/30}\n")
	return b.String()
}

type traceJSON struct {
	OK      bool
	Forward struct {
		Hops    []struct{ Node, Iface, Via string }
		Failure *struct{ Node, Reason string }
	}
	Reverse *struct {
		Failure *struct{ Node, Reason string }
	}
	Ping    bool
	Verdict *struct{ Node, Reason, Detail string }
}

func (e *env) trace(from, to string) (traceJSON, int) {
	e.t.Helper()
	r := e.run("trace", from, to, "--format", "json")
	var tr traceJSON
	if err := json.Unmarshal([]byte(r.stdout), &tr); err != nil {
		e.t.Fatalf("trace %s %s: exit %d: %v\n%s%s", from, to, r.code, err, r.stdout, r.stderr)
	}
	return tr, r.code
}

// TestTraceNamesTheFault: one lab per fault; trace h1 h2 names the node
// and the reason, and the ping agrees that h2 is out of reach.
func TestTraceNamesTheFault(t *testing.T) {
	cases := []struct {
		lab    string
		faults map[string]string
		after  []string // a leolab command run after deploy
		node   string
		reason string
		detail string
	}{
		{"tc-missing-route", map[string]string{"r1": "{interfaces: {eth0: {bridge: a, ipv4: 10.62.1.1}}, sysctls: {net.ipv4.ip_forward: 1}}"},
			nil, "r1", "no route", "r1 has no route to 10.62.2.20"},
		{"tc-wrong-mask", map[string]string{"h1": `{interfaces: {eth0: {bridge: a, ipv4: none}}, exec: ["ip addr add 10.62.1.10/8 dev eth0", "ip route add default via 10.62.1.1"]}`},
			nil, "h1", "next hop not on the link", "no node on bridge a has 10.62.2.20 (h2:eth0 has it"},
		{"tc-link-down", nil, []string{"link", "down", "r1:eth1"}, "r1", "link down", "r1:eth1 is down"},
		{"tc-netem-loss", nil, []string{"netem", "set", "r1:eth1", "--loss", "100%"}, "r1", "link down", "r1:eth1 drops every packet (netem loss 100%)"},
		{"tc-no-gateway", map[string]string{"h1": "{interfaces: {eth0: {bridge: a, ipv4: 10.62.1.10}}}"},
			nil, "h1", "no route", "h1 has no route to 10.62.2.20"},
		{"tc-asymmetric", map[string]string{"r2": "{interfaces: {eth0: {bridge: b, ipv4: 10.62.2.1}}, sysctls: {net.ipv4.ip_forward: 1}}"},
			nil, "r2", "reverse path missing", "the reply from h2 to 10.62.1.10 stops at r2: no route"},
		{"tc-loop", map[string]string{"r2": "{interfaces: {eth0: {bridge: b, ipv4: 10.62.2.1}}, sysctls: {net.ipv4.ip_forward: 1}, routes: [{to: 10.62.1.0/24, via: r1}, {to: 10.62.2.20, via: r1}]}"},
			nil, "r1", "loop", "h1 → r1 → r2 → r1"},
	}
	for _, c := range cases {
		t.Run(c.lab, func(t *testing.T) {
			e := newEnv(t)
			topo := e.writeTopo(c.lab+".yaml", faultLab(c.lab, c.faults))
			e.must("deploy", topo)
			defer e.must("destroy", "--lab", c.lab)
			if c.after != nil {
				if tr, code := e.trace("h1", "h2"); code != 0 || !tr.OK || tr.Verdict != nil {
					t.Errorf("before %v: exit %d %+v, want a working path", c.after, code, tr)
				}
				if r := e.run(c.after...); strings.Contains(r.stderr, "CONFIG_NET_SCH_NETEM") {
					t.Skip("the kernel has no netem qdisc")
				} else if r.code != 0 {
					t.Fatalf("leolab %v: exit %d\n%s", c.after, r.code, r.stderr)
				}
			}
			tr, code := e.trace("h1", "h2")
			v := tr.Verdict
			if code != 1 || tr.OK || tr.Ping || v == nil || v.Node != c.node || v.Reason != c.reason || !strings.Contains(v.Detail, c.detail) {
				t.Fatalf("exit %d, ok %v, ping %v, verdict %+v; want %s at %s (%q)", code, tr.OK, tr.Ping, v, c.reason, c.node, c.detail)
			}
		})
	}
}

// TestDeployCheckFails: a lab whose checks fail fails deploy --check with
// exit 1 and stays up for check and trace.
func TestDeployCheckFails(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("dc.yaml", faultLab("tc-deploy-check", map[string]string{
		"r1": "{interfaces: {eth0: {bridge: a, ipv4: 10.62.1.1}}, sysctls: {net.ipv4.ip_forward: 1}}"})+
		"checks:\n  - reach: {from: h1, to: r1}\n  - reach: {from: h1, to: h2}\n")
	r := e.run("deploy", "--check", "--check-timeout", "1s", topo)
	defer e.must("destroy", "--lab", "tc-deploy-check")
	if r.code != 1 || !strings.Contains(r.stderr, "1 of its 2 checks failed") || !strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("deploy --check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := e.inspect("tc-deploy-check"); len(v.Nodes) != 4 || v.Nodes[0].State != "running" {
		t.Errorf("the lab is not left running: %+v", v)
	}
	if tr, _ := e.trace("h1", "h2"); tr.Verdict == nil || tr.Verdict.Node != "r1" {
		t.Errorf("trace after deploy --check: %+v", tr.Verdict)
	}
}

// TestTracePingDisagrees: routes, links and neighbours all work, but h2
// drops echo requests (iptables in its namespace): the trace's path is whole,
// the ping is not, and the verdict says they disagree.
func TestTracePingDisagrees(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("fw.yaml", faultLab("tc-firewall", nil))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "tc-firewall")
	drop := exec.Command("ip", "netns", "exec", "tc-firewall-h2", "iptables", "-A", "INPUT", "-p", "icmp", "--icmp-type", "echo-request", "-j", "DROP")
	if out, err := drop.CombinedOutput(); err != nil {
		t.Skipf("no iptables to firewall h2 with: %v\n%s", err, out)
	}
	tr, code := e.trace("h1", "h2")
	if code != 1 || tr.OK || tr.Ping || tr.Forward.Failure != nil || tr.Reverse == nil || tr.Reverse.Failure != nil ||
		tr.Verdict == nil || tr.Verdict.Node != "h1" || tr.Verdict.Reason != "ping disagrees" {
		t.Fatalf("exit %d, trace %+v, verdict %+v", code, tr, tr.Verdict)
	}
}
