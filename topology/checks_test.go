package topology

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

const checksLab = `name: t
bridges: {lan: {subnet: 10.0.1.0/24}, wan: {subnet: 10.0.2.0/24}}
nodes:
  r1: {interfaces: {eth0: lan, eth1: wan}}
  h1: {interfaces: {eth0: lan}, gateway: r1}
  h2: {interfaces: {eth0: wan}, gateway: r1}
`

func TestChecksResolve(t *testing.T) {
	src := checksLab + `checks:
  - reach: {from: h1, to: h2}
  - name: isolated
    reach: {from: h1, to: "r1:eth1", expect: fail}
  - reach: {from: h2, to: 10.0.1.1}
  - route: {node: h1, to: default, via: 10.0.1.2, dev: eth0, proto: static}
  - route: {node: r1, to: 10.9.0.0/16, expect: absent}
  - exec: {node: r1, cmd: "cat /proc/sys/net/ipv4/ip_forward", output: "^1"}
  - exec: {node: r1, cmd: ["true"]}
  - exec: {node: r1, cmd: ["false"], exit: 1}
  - daemon: {node: r1, name: sh}
`
	plan, err := Parse("testdata/t.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	zero, one := 0, 1
	want := []Check{
		{Name: "h1 reaches h2", Kind: KindReach, Node: "h1", Reach: &ReachCheck{From: "h1", To: "h2", Addr: netip.MustParseAddr("10.0.2.3")}},
		{Name: "isolated", Kind: KindReach, Node: "h1", Reach: &ReachCheck{From: "h1", To: "r1:eth1", Addr: netip.MustParseAddr("10.0.2.2"), Fail: true}},
		{Name: "h2 reaches 10.0.1.1", Kind: KindReach, Node: "h2", Reach: &ReachCheck{From: "h2", To: "10.0.1.1", Addr: netip.MustParseAddr("10.0.1.1")}},
		{Name: "h1 has a route to default via 10.0.1.2 dev eth0 proto static", Kind: KindRoute, Node: "h1",
			Route: &RouteCheck{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.1.2"), Dev: "eth0", Proto: "static"}},
		{Name: "r1 has no route to 10.9.0.0/16", Kind: KindRoute, Node: "r1", Route: &RouteCheck{To: netip.MustParsePrefix("10.9.0.0/16"), Absent: true}},
		{Name: "r1 runs: cat /proc/sys/net/ipv4/ip_forward", Kind: KindExec, Node: "r1",
			Exec: &ExecCheck{Argv: []string{"/bin/sh", "-c", "cat /proc/sys/net/ipv4/ip_forward"}, Output: "^1"}},
		{Name: "r1 runs: true", Kind: KindExec, Node: "r1", Exec: &ExecCheck{Argv: []string{"true"}, Exit: &zero}},
		{Name: "r1 runs: false", Kind: KindExec, Node: "r1", Exec: &ExecCheck{Argv: []string{"false"}, Exit: &one}},
		{Name: "r1 runs daemon sh", Kind: KindDaemon, Node: "r1", Daemon: &DaemonCheck{Name: "sh"}},
	}
	if !reflect.DeepEqual(plan.Checks, want) {
		for i := range plan.Checks {
			t.Logf("got %d: %+v", i, plan.Checks[i])
		}
		t.Fatalf("checks differ")
	}
}

func TestChecksErrorsAllAtOnce(t *testing.T) {
	src := checksLab + `checks:
  - reach: {from: h9, to: h2}
  - reach: {from: h1, to: "r1:eth7", expect: maybe}
  - route: {node: r1, to: 10.0.1.1/24, via: r1, dev: eth9, proto: ospf3}
  - exec: {node: r1, output: "(unclosed"}
  - exec: {node: r1, cmd: [], exit: 300}
  - daemon: {node: h1}
  - reach: {from: h1, to: h2}
    route: {node: h1, to: default}
  - name: x
  - {name: dup, daemon: {node: r1, name: a}}
  - {name: dup, daemon: {node: r1, name: b}}
  - rout: {}
`
	got := errorsOf(t, src, Options{})
	want := []string{
		"testdata/t.yaml:8:19: reach check: unknown node \"h9\"",
		"testdata/t.yaml:9:27: reach to r1:eth7: node r1 has no interface \"eth7\"",
		"testdata/t.yaml:9:46: expect \"maybe\": want ok or fail",
		"testdata/t.yaml:10:27: route check: to 10.0.1.1/24 has host bits set (did you mean 10.0.1.0/24?)",
		"testdata/t.yaml:10:45: route check: via \"r1\" is not an IPv4 address",
		"testdata/t.yaml:10:54: route check: node r1 has no interface \"eth9\"",
		"testdata/t.yaml:10:67: route check: unknown proto \"ospf3\"; want a number 0-255 or one of " + routeProtoNames(),
		"testdata/t.yaml:11:5: exec check needs \"cmd\" (a string for sh -c, or a list)",
		"testdata/t.yaml:11:30: exec check: output is not a regular expression: error parsing regexp: missing closing ): `(unclosed`",
		"testdata/t.yaml:12:27: exec check: cmd is empty",
		"testdata/t.yaml:12:37: exec check: exit 300 is not an exit status 0-255",
		"testdata/t.yaml:13:5: daemon check needs \"name\" (the process name)",
		"testdata/t.yaml:15:5: check has both reach and route; write one kind per check",
		"testdata/t.yaml:16:5: check needs one of reach, route, exec, daemon",
		"testdata/t.yaml:18:12: check name \"dup\" is already used at line 17",
		"testdata/t.yaml:19:5: unknown key \"rout\" in check; expected one of daemon, exec, name, reach, route",
		"testdata/t.yaml:19:5: check needs one of reach, route, exec, daemon",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseChecksFile(t *testing.T) {
	plan, err := Parse("testdata/t.yaml", []byte(checksLab), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checks, err := ParseChecks("teacher.yaml", []byte("checks:\n  - reach: {from: h1, to: h2}\n  - daemon: {node: r1, name: bird}\n"), plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 || checks[0].Reach.Addr != netip.MustParseAddr("10.0.2.3") || checks[1].Daemon.Name != "bird" {
		t.Fatalf("checks = %+v", checks)
	}
	_, err = ParseChecks("teacher.yaml", []byte("checks:\n  - reach: {from: h3, to: h2}\nnodez: {}\n"), plan)
	var errs Errors
	if !errors.As(err, &errs) || errs.Error() != "teacher.yaml:2:19: reach check: unknown node \"h3\"\n"+
		"teacher.yaml:3:1: unknown key \"nodez\" in the checks file; expected one of checks" {
		t.Fatalf("err = %v", err)
	}
}

// A whole topology file read for its checks: they are resolved against the
// plan given (the running lab's), not the file's own.
func TestParseChecksOfTopology(t *testing.T) {
	plan, err := Parse("testdata/t.yaml", []byte(checksLab), Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan.Nodes[2].Interfaces[0].IPv4 = netip.MustParsePrefix("10.0.2.99/24") // h2 as the running lab has it
	checks, err := ParseChecks("lab.yaml", []byte(checksLab+"checks: [{reach: {from: h1, to: h2}}]\n"), plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 || checks[0].Reach.Addr != netip.MustParseAddr("10.0.2.99") {
		t.Fatalf("checks = %+v", checks)
	}
}

func TestRouteProtoNumbers(t *testing.T) {
	for proto, want := range map[string][]int{"static": {3, 4, 196}, "ospf": {188}, "bird": {12}, "42": {42}} {
		if got, ok := RouteProtoNumbers(proto); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v", proto, got, ok)
		}
	}
	for _, bad := range []string{"256", "-1", "osp"} {
		if _, ok := RouteProtoNumbers(bad); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}
