package topology

import (
	"slices"
	"strings"
	"testing"
)

const diffBase = `
name: t
bridges:
  lan: {}
nodes:
  h1: {interfaces: {eth0: lan}}
  h2: {interfaces: {eth0: lan}, sysctls: {net.ipv4.ip_forward: 1}}
  r1:
    interfaces: {eth0: lan}
    routes: [{to: 10.9.0.0/16, via: h1}]
links:
  - endpoints: [h1:eth1, r1:eth1]
    netem: {delay: 10ms}
`

// diffOf resolves edited against the plan of diffBase, as apply does.
func diffOf(t *testing.T, edited string) *Diff {
	t.Helper()
	old := mustParse(t, diffBase, Options{})
	next := mustResolveOver(t, edited, old, nil)
	return Compare(old, next)
}

func lines(d *Diff) []string {
	var out []string
	for _, c := range d.Changes {
		out = append(out, c.String())
	}
	return out
}

// edit replaces one string of diffBase (exactly once).
func edit(t *testing.T, from, to string) string {
	t.Helper()
	if strings.Count(diffBase, from) != 1 {
		t.Fatalf("edit: %q is not in the base once", from)
	}
	return strings.Replace(diffBase, from, to, 1)
}

func TestDiffClassifiesEveryKind(t *testing.T) {
	cases := []struct {
		name  string
		from  string
		to    string
		want  []string
		check func(*Diff) bool
	}{
		{"no change", "name: t", "name: t", nil, func(d *Diff) bool { return d.Empty() }},
		{"add node", "  r1:\n", "  h3: {interfaces: {eth0: lan}}\n  r1:\n",
			[]string{"+ node h3"}, func(d *Diff) bool { return slices.Equal(d.AddNodes, []string{"h3"}) }},
		{"remove node", "  h2: {interfaces: {eth0: lan}, sysctls: {net.ipv4.ip_forward: 1}}\n", "",
			[]string{"- node h2"}, func(d *Diff) bool { return slices.Equal(d.RemoveNodes, []string{"h2"}) }},
		{"add bridge", "  lan: {}\n", "  lan: {}\n  core: {}\n",
			[]string{"+ bridge core 172.20.2.0/24"}, func(d *Diff) bool { return slices.Equal(d.AddBridges, []string{"core"}) && d.NATChanged }},
		{"remove bridge and its port", "  lan: {}\n", "  lan: {}\n  core: {}\n", nil, nil}, // reversed below
		{"add link", "links:\n", "links:\n  - endpoints: [h2:eth1, r1:eth2]\n",
			[]string{"+ link h2:eth1 <-> r1:eth2"}, func(d *Diff) bool { return len(d.AddLinks) == 1 && len(d.RemoveLinks) == 0 }},
		{"remove link", "  - endpoints: [h1:eth1, r1:eth1]\n    netem: {delay: 10ms}\n", "",
			[]string{"- link h1:eth1 <-> r1:eth1"}, func(d *Diff) bool { return len(d.RemoveLinks) == 1 && len(d.AddLinks) == 0 }},
		{"netem in place", "delay: 10ms", "delay: 20ms",
			[]string{"~ netem h1:eth1 delay 10ms → 20ms", "~ netem r1:eth1 delay 10ms → 20ms"},
			func(d *Diff) bool { return len(d.Netem) == 2 && len(d.AddLinks) == 0 }},
		{"link mtu in place", "    netem: {delay: 10ms}\n", "    netem: {delay: 10ms}\n    mtu: 9000\n",
			[]string{"~ mtu h1:eth1 1500 → 9000", "~ mtu r1:eth1 1500 → 9000"}, func(d *Diff) bool { return len(d.MTU) == 2 }},
		{"routes in place", "via: h1}", "via: h1}, {to: 10.8.0.0/16, via: h1}",
			[]string{"~ routes r1 + 10.8.0.0/16 via 172.20.1.2"}, func(d *Diff) bool { return slices.Equal(d.Routes, []string{"r1"}) }},
		{"gateway in place", "    routes: [{to: 10.9.0.0/16, via: h1}]\n", "    routes: [{to: 10.9.0.0/16, via: h1}]\n    gateway: h2\n",
			[]string{"~ routes r1 + default via 172.20.1.3"}, func(d *Diff) bool { return slices.Equal(d.Routes, []string{"r1"}) }},
		{"sysctl set in place", "net.ipv4.ip_forward: 1}", "net.ipv4.ip_forward: 0}",
			[]string{"~ sysctl h2 net.ipv4.ip_forward 1 → 0"}, func(d *Diff) bool { return slices.Equal(d.Sysctls, []string{"h2"}) }},
		{"sysctl removed recreates", ", sysctls: {net.ipv4.ip_forward: 1}}", "}",
			[]string{"~ node h2 recreated: sysctls changed"}, func(d *Diff) bool { return slices.Equal(d.RecreateNodes, []string{"h2"}) }},
		{"rootfs recreates", "  h1: {interfaces: {eth0: lan}}", "  h1: {interfaces: {eth0: lan}, rootfs: host}",
			[]string{"~ node h1 recreated: rootfs changed"},
			func(d *Diff) bool {
				return slices.Equal(d.RecreateNodes, []string{"h1"}) && len(d.AddLinks) == 0 && len(d.AddPorts) == 0
			}},
		{"cmd env binds limits recreate", "  h1: {interfaces: {eth0: lan}}", "  h1: {interfaces: {eth0: lan}, cmd: [sleep, '9'], env: {A: b}, limits: {pids: 64}}",
			[]string{"~ node h1 recreated: cmd, env, limits changed"}, func(d *Diff) bool { return len(d.RecreateNodes) == 1 }},
		{"exec recreates", "  h1: {interfaces: {eth0: lan}}", "  h1: {interfaces: {eth0: lan}, exec: ['true']}",
			[]string{"~ node h1 recreated: exec changed"}, nil},
		{"namespaces recreate", "  h1: {interfaces: {eth0: lan}}", "  h1: {interfaces: {eth0: lan}, user_namespace: true, privileged: true}",
			[]string{"~ node h1 recreated: privileged, user_namespace changed"}, nil},
		{"port added on a node that stays", "  h1: {interfaces: {eth0: lan}}", "  h1: {interfaces: {eth0: lan, eth5: lan}}",
			[]string{"+ port h1:eth5 on lan"}, func(d *Diff) bool { return len(d.AddPorts) == 1 && len(d.RecreateNodes) == 0 }},
		{"port moved to another bridge", "  lan: {}\n  ", "  lan: {}\n  core: {}\n  ", nil, nil},
		{"pinned address recreates the port", "  h2: {interfaces: {eth0: lan}", "  h2: {interfaces: {eth0: {bridge: lan, ipv4: 172.20.1.77}}",
			[]string{"~ port h2:eth0 recreated: ipv4 172.20.1.3/24 → 172.20.1.77/24"},
			func(d *Diff) bool { return len(d.AddPorts) == 1 && len(d.RemovePorts) == 1 }},
		{"bridge subnet recreates bridge and ports", "  lan: {}", "  lan: {subnet: 10.7.0.0/24}",
			nil, func(d *Diff) bool {
				return slices.Equal(d.RemoveBridges, []string{"lan"}) && slices.Equal(d.AddBridges, []string{"lan"}) && len(d.AddPorts) == 3
			}},
		{"bridge nat in place", "  lan: {}", "  lan: {nat: true}",
			[]string{"~ nat lan false → true", "~ routes h1 + default via 172.20.1.1", "~ routes h2 + default via 172.20.1.1", "~ routes r1 + default via 172.20.1.1"}, func(d *Diff) bool { return d.NATChanged && len(d.AddBridges) == 0 }},
		{"link subnet recreates the link", "    netem: {delay: 10ms}\n", "    netem: {delay: 10ms}\n    subnet: 10.5.0.0/30\n",
			[]string{"~ link h1:eth1 <-> r1:eth1 recreated: subnet 172.20.240.0/30 → 10.5.0.0/30"},
			func(d *Diff) bool { return len(d.AddLinks) == 1 && len(d.RemoveLinks) == 1 }},
		{"endpoints swapped is no change", "[h1:eth1, r1:eth1]", "[r1:eth1, h1:eth1]", nil, func(d *Diff) bool { return d.Empty() }},
		{"checks only recorded", "links:\n", "checks:\n  - reach: {from: h1, to: h2}\nlinks:\n", nil, func(d *Diff) bool { return d.Record && len(d.Changes) == 0 }},
	}
	for _, c := range cases {
		if c.want == nil && c.check == nil {
			continue
		}
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			d := diffOf(t, edit(t, c.from, c.to))
			if c.want != nil && !slices.Equal(lines(d), c.want) {
				t.Errorf("changes:\n  %s\nwant:\n  %s", strings.Join(lines(d), "\n  "), strings.Join(c.want, "\n  "))
			}
			if c.check != nil && !c.check(d) {
				t.Errorf("diff sets wrong: %+v", d)
			}
		})
	}
}

func TestDiffRemovedBridgeAndMovedPort(t *testing.T) {
	old := mustParse(t, "name: t\nbridges: {lan: {}, core: {}}\nnodes:\n  a: {interfaces: {eth0: lan, eth1: core}}\n", Options{})
	next := mustResolveOver(t, "name: t\nbridges: {lan: {}}\nnodes:\n  a: {interfaces: {eth0: lan, eth1: lan}}\n", old, nil)
	d := Compare(old, next)
	want := []string{"- bridge core", "~ port a:eth1 recreated: bridge core → lan"}
	if !slices.Equal(lines(d), want) {
		t.Errorf("changes %q, want %q", lines(d), want)
	}
	if !slices.Equal(d.RemoveBridges, []string{"core"}) || len(d.RemovePorts) != 1 || len(d.AddPorts) != 1 {
		t.Errorf("sets: %+v", d)
	}
	back := Compare(next, old)
	if !slices.Equal(back.AddBridges, []string{"core"}) || len(back.RemovePorts) != 1 {
		t.Errorf("reverse: %+v", back)
	}
	gone := mustResolveOver(t, "name: t\nbridges: {lan: {}}\nnodes:\n  a: {interfaces: {eth0: lan}}\n", old, nil)
	if d := Compare(old, gone); !slices.Equal(lines(d), []string{"- bridge core", "- port a:eth1 on core"}) {
		t.Errorf("port removed with its bridge: %q", lines(d))
	}
}

// Links of a removed node are listed; links of a recreated node are not
// (they come back with it).
func TestDiffLinksOfReplacedNodes(t *testing.T) {
	base := "name: t\nnodes:\n  a: {}\n  b: {}\n  c: {}\nlinks:\n  - endpoints: [a:eth1, b:eth1]\n  - endpoints: [b:eth2, c:eth2]\n"
	old := mustParse(t, base, Options{})
	gone := mustResolveOver(t, "name: t\nnodes:\n  b: {}\n  c: {}\nlinks:\n  - endpoints: [b:eth2, c:eth2]\n", old, nil)
	d := Compare(old, gone)
	if want := []string{"- node a", "- link a:eth1 <-> b:eth1"}; !slices.Equal(lines(d), want) {
		t.Errorf("changes %q, want %q", lines(d), want)
	}
	rec := mustResolveOver(t, strings.Replace(base, "  b: {}", "  b: {rootfs: host}", 1), old, nil)
	d = Compare(old, rec)
	if want := []string{"~ node b recreated: rootfs changed"}; !slices.Equal(lines(d), want) {
		t.Errorf("changes %q, want %q", lines(d), want)
	}
	if len(d.AddLinks)+len(d.RemoveLinks) != 0 {
		t.Errorf("links of a recreated node listed: %+v", d)
	}
}

func TestKeepIndexes(t *testing.T) {
	old := mustParse(t, diffBase, Options{})
	next := mustResolveOver(t, edit(t, "  h1: {", "  h0: {interfaces: {eth0: lan}}\n  h1: {"), old, nil)
	next.KeepIndexes(old)
	got := map[string]int{}
	for _, n := range next.Nodes {
		got[n.Name] = n.Index
	}
	want := map[string]int{"h0": 3, "h1": 0, "h2": 1, "r1": 2}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("index of %s = %d, want %d", k, got[k], v)
		}
	}
}
