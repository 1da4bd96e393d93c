package topology

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// errorsOf parses src as testdata/t.yaml and returns its violations.
func errorsOf(t *testing.T, src string, opts Options) []string {
	t.Helper()
	_, err := Parse("testdata/t.yaml", []byte(src), opts)
	if err == nil {
		return nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse returned %T %v, want Errors", err, err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// validationCases: one topology per rule, with every violation it must
// produce, exactly. $DIR is the absolute path of testdata.
var validationCases = []struct {
	name     string
	isolated bool
	src      string
	want     []string
}{
	{"unknown top-level key", false, `
name: t
nodez: {}
`, []string{
		"testdata/t.yaml:2:1: unknown key \"nodez\" in the topology file; expected one of bridges, checks, defaults, hosts, images, ipv4_pool, ipv6, ipv6_pool, links, name, nodes",
	}},
	{"unknown bridge key", false, `
name: t
bridges:
  lan: {subnett: 10.0.0.0/24}
`, []string{
		"testdata/t.yaml:3:9: unknown key \"subnett\" in bridge lan; expected one of gateway, mtu, nat, subnet, subnet6",
	}},
	{"unknown node key", false, `
name: t
nodes:
  a:
    rootfz: busybox
`, []string{
		"testdata/t.yaml:4:5: unknown key \"rootfz\" in node a; expected one of binds, bird, capabilities, cmd, env, exec, frr, gateway, gateway6, host, interfaces, limits, privileged, rootfs, rootfs_copy, routes, sysctls, user_namespace",
	}},
	{"unknown interface key", false, `
name: t
bridges: {lan: {}}
nodes:
  a:
    interfaces:
      eth0: {bridge: lan, mac: x}
`, []string{
		"testdata/t.yaml:6:27: unknown key \"mac\" in interface eth0; expected one of bridge, ipv4, ipv6",
	}},
	{"unknown link key", false, `
name: t
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:e0, b:e0]
    delay: 1ms
`, []string{
		"testdata/t.yaml:5:5: unknown key \"delay\" in link; expected one of endpoints, ipv4, mtu, netem, subnet, subnet6",
	}},
	{"unknown netem key", false, `
name: t
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:e0, b:e0]
    netem: {latency: 1ms}
`, []string{
		"testdata/t.yaml:5:13: unknown key \"latency\" in netem; expected one of corrupt, delay, duplicate, jitter, loss, rate, reorder",
	}},
	{"unknown limits key", false, `
name: t
nodes:
  a: {limits: {memroy: 1G}}
`, []string{
		"testdata/t.yaml:3:16: unknown key \"memroy\" in node a limits; expected one of cpus, memory, pids, tmpfs",
	}},
	{"unknown route key", false, `
name: t
nodes:
  a: {routes: [{to: default, via: 10.0.0.1, dev: eth0}]}
`, []string{
		"testdata/t.yaml:3:35: via 10.0.0.1 is not reachable: a has no address",
		"testdata/t.yaml:3:45: unknown key \"dev\" in node a route; expected one of to, via",
	}},
	{"missing name", false, `
nodes: {}
`, []string{
		"testdata/t.yaml:1:1: missing required key \"name\" (the lab name)",
	}},
	{"bad lab name", false, `
name: Routing
`, []string{
		"testdata/t.yaml:1:7: lab name \"Routing\" must match ^[a-z][a-z0-9-]{0,19}$",
	}},
	{"lab name too long", false, `
name: abcdefghijklmnopqrstu
`, []string{
		"testdata/t.yaml:1:7: lab name \"abcdefghijklmnopqrstu\" must match ^[a-z][a-z0-9-]{0,19}$",
	}},
	{"bad node name", false, `
name: t
nodes:
  1a: {}
  a_b: {}
`, []string{
		"testdata/t.yaml:3:3: node name \"1a\" must match ^[A-Za-z][A-Za-z0-9-]{0,62}$",
		"testdata/t.yaml:4:3: node name \"a_b\" must match ^[A-Za-z][A-Za-z0-9-]{0,62}$",
	}},
	{"node name too long", false, `
name: t
nodes:
  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: {}
`, []string{
		"testdata/t.yaml:3:3: node name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" must match ^[A-Za-z][A-Za-z0-9-]{0,62}$",
	}},
	{"bad bridge name", false, `
name: t
bridges:
  my_lan: {}
`, []string{
		"testdata/t.yaml:3:3: bridge name \"my_lan\" must match ^[A-Za-z][A-Za-z0-9-]{0,31}$",
	}},
	{"bad interface name", false, `
name: t
bridges: {lan: {}}
nodes:
  a:
    interfaces:
      eth0-is-far-too-long: lan
      0eth: lan
`, []string{
		"testdata/t.yaml:6:7: interface name \"eth0-is-far-too-long\" must match ^[A-Za-z][A-Za-z0-9._-]{0,14}$",
		"testdata/t.yaml:7:7: interface name \"0eth\" must match ^[A-Za-z][A-Za-z0-9._-]{0,14}$",
	}},
	{"duplicate keys", false, `
name: t
name: u
nodes:
  a: {}
  a: {}
`, []string{
		"testdata/t.yaml:2:1: duplicate key \"name\" in the topology file (first at line 1)",
		"testdata/t.yaml:5:3: duplicate key \"a\" in nodes (first at line 4)",
	}},
	{"wrong types", false, `
name: 5
bridges:
  lan: {gateway: yes please, nat: 1, mtu: big}
nodes:
  a: {privileged: "true", exec: "echo", interfaces: [eth0]}
links: {a: b}
`, []string{
		"testdata/t.yaml:1:7: name must be a string, not an integer",
		"testdata/t.yaml:3:18: gateway must be true or false, not a string",
		"testdata/t.yaml:3:35: nat must be true or false, not an integer",
		"testdata/t.yaml:3:43: mtu must be an integer, not a string",
		"testdata/t.yaml:5:19: privileged must be true or false, not a string",
		"testdata/t.yaml:5:33: exec must be a list of strings, not a string",
		"testdata/t.yaml:5:53: node a interfaces must be a mapping, not a list",
		"testdata/t.yaml:6:8: links must be a list, not a mapping",
	}},
	{"unknown bridge", false, `
name: t
nodes:
  a:
    interfaces:
      eth0: wan
      eth1: {ipv4: 10.0.0.1/24}
`, []string{
		"testdata/t.yaml:5:13: interface a:eth0: unknown bridge \"wan\"",
		"testdata/t.yaml:6:7: interface a:eth1 needs a bridge (links are declared under links:)",
	}},
	{"unknown node in link", false, `
name: t
nodes: {a: {}}
links:
  - endpoints: [a:eth0, b:eth0]
  - endpoints: [a-eth1, a:eth2, a:eth3]
`, []string{
		"testdata/t.yaml:4:25: link endpoint b:eth0: unknown node \"b\"",
		"testdata/t.yaml:5:16: a link has exactly 2 endpoints, not 3",
	}},
	{"interface used by bridge and link", false, `
name: t
bridges: {lan: {}}
nodes:
  a: {interfaces: {eth0: lan}}
  b: {}
links:
  - endpoints: [a:eth0, b:eth0]
`, []string{
		"testdata/t.yaml:7:17: interface a:eth0 is already used at line 4",
	}},
	{"interface used by two links", false, `
name: t
nodes: {a: {}, b: {}, c: {}}
links:
  - endpoints: [a:eth1, b:eth1]
  - endpoints: [c:eth1, a:eth1]
`, []string{
		"testdata/t.yaml:5:25: interface a:eth1 is already used at line 4",
	}},
	{"self loop", false, `
name: t
nodes: {a: {}}
links:
  - endpoints: [a:eth1, a:eth2]
`, []string{
		"testdata/t.yaml:4:16: link connects node a to itself",
	}},
	{"same endpoint twice", false, `
name: t
nodes: {a: {}}
links:
  - endpoints: [a:eth1, a:eth1]
`, []string{
		"testdata/t.yaml:4:25: interface a:eth1 is already used at line 4",
	}},
	{"static address outside subnet", false, `
name: t
bridges: {lan: {subnet: 10.1.0.0/24}}
nodes:
  a: {interfaces: {eth0: {bridge: lan, ipv4: 10.2.0.5/24}}}
`, []string{
		"testdata/t.yaml:4:46: ipv4 of a:eth0 on bridge lan: 10.2.0.5 is outside 10.1.0.0/24",
	}},
	{"static address network broadcast gateway", false, `
name: t
bridges: {lan: {subnet: 10.1.0.0/24}}
nodes:
  a: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.0/24}}}
  b: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.255/24}}}
  c: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.1/24}}}
  d: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.9/16}}}
  e: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.300}}}
`, []string{
		"testdata/t.yaml:4:46: ipv4 of a:eth0 on bridge lan: 10.1.0.0 is the network address of 10.1.0.0/24",
		"testdata/t.yaml:5:46: ipv4 of b:eth0 on bridge lan: 10.1.0.255 is the broadcast address of 10.1.0.0/24",
		"testdata/t.yaml:6:46: ipv4 of c:eth0 on bridge lan: 10.1.0.1 is already used by the gateway of bridge lan",
		"testdata/t.yaml:7:46: ipv4 10.1.0.9/16 of d:eth0 must have the prefix length of bridge lan (10.1.0.0/24)",
		"testdata/t.yaml:8:46: ipv4 \"10.1.0.300\" is not an IPv4 address like 172.20.1.10/24 or none",
	}},
	{"duplicate address", false, `
name: t
bridges: {lan: {subnet: 10.1.0.0/24}}
nodes:
  a: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.7/24}}}
  b: {interfaces: {eth0: {bridge: lan, ipv4: 10.1.0.7}}}
`, []string{
		"testdata/t.yaml:5:46: ipv4 of b:eth0 on bridge lan: 10.1.0.7 is already used by a:eth0",
	}},
	{"overlapping bridge subnets", false, `
name: t
bridges:
  lan: {subnet: 10.1.0.0/16}
  wan: {subnet: 10.1.2.0/24}
`, []string{
		"testdata/t.yaml:4:17: subnet 10.1.2.0/24 of bridge wan overlaps 10.1.0.0/16 (bridge lan)",
	}},
	{"link overlaps bridge", false, `
name: t
bridges:
  lan: {subnet: 10.1.0.0/24}
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:eth1, b:eth1]
    subnet: 10.1.0.4/30
`, []string{
		"testdata/t.yaml:7:13: subnet 10.1.0.4/30 of link a:eth1-b:eth1 overlaps 10.1.0.0/24 (bridge lan)",
	}},
	{"bad subnets", false, `
name: t
bridges:
  a: {subnet: 10.1.0.0/31}
  b: {subnet: fd00::/64}
  c: {subnet: 10.1.0.1/24}
  d: {subnet: nonsense}
  e: {subnet: 127.0.0.0/24}
`, []string{
		"testdata/t.yaml:3:15: subnet 10.1.0.0/31 is too small: it needs to be /30 or larger",
		"testdata/t.yaml:4:15: subnet fd00::/64 is not IPv4",
		"testdata/t.yaml:5:15: subnet 10.1.0.1/24 has host bits set (did you mean 10.1.0.0/24?)",
		"testdata/t.yaml:6:15: subnet \"nonsense\" is not a CIDR prefix like 172.20.1.0/24",
		"testdata/t.yaml:7:15: subnet 127.0.0.0/24 is not a unicast range",
	}},
	{"bad mtu", false, `
name: t
bridges:
  lan: {mtu: 67}
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:eth1, b:eth1]
    mtu: 65536
`, []string{
		"testdata/t.yaml:3:14: mtu 67 is outside 68..65535",
		"testdata/t.yaml:7:10: mtu 65536 is outside 68..65535",
	}},
	{"bad netem", false, `
name: t
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:eth1, b:eth1]
    netem: {delay: 20, jitter: -1ms, loss: 101%, duplicate: x, rate: 10mbps, corrupt: 5%}
`, []string{
		"testdata/t.yaml:5:20: netem delay \"20\" is not a duration like 20ms",
		"testdata/t.yaml:5:32: netem jitter \"-1ms\" is not a duration like 20ms",
		"testdata/t.yaml:5:44: netem loss 101% is outside 0..100%",
		"testdata/t.yaml:5:61: netem duplicate \"x\" is not a percentage like 1%",
		"testdata/t.yaml:5:70: netem rate \"10mbps\" is not a rate like 10mbit (units: bit, kbit, mbit, gbit, tbit)",
	}},
	{"jitter without delay", false, `
name: t
nodes: {a: {}, b: {}}
links:
  - endpoints: [a:eth1, b:eth1]
    netem: {jitter: 1ms}
`, []string{
		"testdata/t.yaml:5:21: netem jitter needs a delay",
	}},
	{"bad sysctls", false, `
name: t
nodes:
  a:
    sysctls:
      kernel.panic: 1
      net..ipv4: 1
      net.ipv4.ip_forward: 1
`, []string{
		"testdata/t.yaml:5:7: sysctl \"kernel.panic\": only net.* sysctls are per node",
		"testdata/t.yaml:6:7: sysctl \"net..ipv4\" is not a dotted name like net.ipv4.ip_forward",
	}},
	{"bad binds", false, `
name: t
nodes:
  a:
    binds:
      - binds/src:/mnt
      - binds/missing:/mnt2
      - binds/src:relative
      - binds/src
      - binds/src:/x:rx
      - binds/src/file:/mnt
`, []string{
		"testdata/t.yaml:6:9: bind source $DIR/binds/missing does not exist",
		"testdata/t.yaml:7:9: bind \"binds/src:relative\": target relative is not an absolute path",
		"testdata/t.yaml:8:9: bind \"binds/src\" is not HOST:NODE[:ro]",
		"testdata/t.yaml:9:9: bind \"binds/src:/x:rx\": option \"rx\" is not ro or rw",
		"testdata/t.yaml:10:9: bind target /mnt is already bound at line 5",
	}},
	{"via not connected", false, `
name: t
bridges: {lan: {subnet: 10.1.0.0/24}}
nodes:
  a:
    interfaces: {eth0: lan}
    gateway: 10.2.0.1
    routes:
      - {to: 10.9.0.0/16, via: 10.1.0.2}
      - {to: 10.8.0.0/16, via: 10.1.0.7}
      - {to: 10.7.0.0/16, via: b}
      - {to: 10.7.0.0/16, via: lan}
      - {to: 10.6.0.0/16, via: nowhere}
  b: {}
`, []string{
		"testdata/t.yaml:6:14: gateway 10.2.0.1 is not on a subnet a is attached to (10.1.0.0/24)",
		"testdata/t.yaml:8:32: via 10.1.0.2 is a's own address",
		"testdata/t.yaml:10:32: via b: nodes a and b share no subnet on which both have an address",
		"testdata/t.yaml:11:14: route to 10.7.0.0/16 is already set at line 10",
		"testdata/t.yaml:12:32: via \"nowhere\" is not an IPv4 address, a node or a bridge",
	}},
	{"bad pool", false, `
name: t
ipv4_pool: 172.20.0.0/24
`, []string{
		"testdata/t.yaml:2:12: ipv4_pool: pool 172.20.0.0/24 is too small: need /19 or larger (its top /20 is kept for links)",
	}},
	{"pool not prefix", false, `
name: t
ipv4_pool: 172.20.0.0
`, []string{
		"testdata/t.yaml:2:12: ipv4_pool \"172.20.0.0\" is not an IPv4 prefix like 172.20.0.0/16",
	}},
	{"bad limits", false, `
name: t
nodes:
  a: {limits: {memory: 12X, pids: 0, cpus: 0}}
`, []string{
		"testdata/t.yaml:3:24: memory \"12X\" is not a size like 256M (units: K, M, G, T)",
		"testdata/t.yaml:3:35: pids 0 must be greater than 0",
		"testdata/t.yaml:3:44: cpus 0 must be greater than 0",
	}},
	{"bad tmpfs size", false, `
name: t
defaults:
  limits: {tmpfs: 0}
nodes:
  a: {limits: {tmpfs: 64Q}}
  b: {}
`, []string{
		"testdata/t.yaml:3:19: tmpfs 0 is out of range",
		"testdata/t.yaml:5:23: tmpfs \"64Q\" is not a size like 256M (units: K, M, G, T)",
	}},
	{"nat isolated", true, `
name: t
bridges:
  lan: {nat: true}
`, []string{
		"testdata/t.yaml:3:9: bridge lan: nat is not available with --isolated",
	}},
	{"nat without gateway", false, `
name: t
bridges:
  lan: {nat: true, gateway: false}
`, []string{
		"testdata/t.yaml:3:9: bridge lan: nat needs gateway: true (the host routes the subnet)",
	}},
	{"bad rootfs", false, `
name: t
nodes:
  a: {rootfs: alpine}
  b: {rootfs: "docker://"}
  c: {rootfs: testdata/t.yaml}
`, []string{
		"testdata/t.yaml:3:15: rootfs $DIR/alpine does not exist (for a registry image write docker://alpine)",
		"testdata/t.yaml:4:15: rootfs \"docker://\" is not docker://REF",
		"testdata/t.yaml:5:15: rootfs $DIR/testdata/t.yaml does not exist",
	}},
	{"gateway bridge without gateway", false, `
name: t
bridges: {lan: {gateway: false}, wan: {}}
nodes:
  a:
    interfaces: {eth0: lan}
    gateway: lan
  b:
    interfaces: {eth0: lan}
    gateway: wan
`, []string{
		"testdata/t.yaml:6:14: gateway lan: bridge lan has no .1 (gateway: false)",
		"testdata/t.yaml:9:14: gateway wan: node b has no address on bridge wan",
	}},
	{"alias to no anchor", false, `
name: t
bridges: &b {lan: {}}
nodes: {a: {interfaces: {eth0: *lan}}}
`, []string{
		"testdata/t.yaml:3:32: yaml alias *lan: no anchor &lan before it",
	}},
	{"merge key of a scalar", false, `
name: t
defaults: &d busybox
nodes:
  a:
    <<: *d
`, []string{
		"testdata/t.yaml:5:5: yaml merge key <<: wants a mapping or a list of mappings, not a string",
	}},
	{"syntax error", false, `
name: t
nodes: [a, b
`, []string{
		"testdata/t.yaml:2:8: yaml: sequence end token ']' not found",
	}},
	{"several mistakes", false, `
name: t
bridges:
  lan: {subnet: 10.0.0.0/24, mtu: 20}
nodes:
  a:
    interfaces:
      eth0: {bridge: lna}
  b:
    interfaces:
      eth0: {bridge: lan, ipv4: 10.0.0.0/24}
    sysctls: {vm.swappiness: 10}
links:
  - endpoints: [a:eth0, b:eth9]
`, []string{
		"testdata/t.yaml:3:35: mtu 20 is outside 68..65535",
		"testdata/t.yaml:7:22: interface a:eth0: unknown bridge \"lna\"",
		"testdata/t.yaml:10:33: ipv4 of b:eth0 on bridge lan: 10.0.0.0 is the network address of 10.0.0.0/24",
		"testdata/t.yaml:11:15: sysctl \"vm.swappiness\": only net.* sysctls are per node",
		"testdata/t.yaml:13:17: interface a:eth0 is already used at line 7",
	}},
	{"env", false, `
name: t
nodes:
  bridge: {}
  a: {env: {1X: y, OK: z}}
`, []string{
		"testdata/t.yaml:4:13: env name \"1X\" must match ^[A-Za-z_][A-Za-z0-9_]*$",
	}},
	{"defaults", false, `
name: t
defaults:
  interfaces: {eth0: wan}
  rootfz: x
nodes:
  a: {}
  b: {}
`, []string{
		"testdata/t.yaml:3:22: interface a:eth0: unknown bridge \"wan\"",
		"testdata/t.yaml:3:22: interface b:eth0: unknown bridge \"wan\"",
		"testdata/t.yaml:4:3: unknown key \"rootfz\" in defaults; expected one of binds, bird, capabilities, cmd, env, exec, frr, gateway, gateway6, host, interfaces, limits, privileged, rootfs, rootfs_copy, routes, sysctls, user_namespace",
	}},
	{"link ipv4", false, `
name: t
nodes: {a: {}, b: {}, c: {}}
links:
  - endpoints: [a:e1, b:e1]
    ipv4: 10.0.0.1/30
  - endpoints: [a:e2, c:e2]
    ipv4: none
    subnet: 10.9.9.0/30
  - endpoints: [a:e3, c:e3]
`, []string{
		"testdata/t.yaml:5:11: link ipv4 can only be none (addresses come from the link subnet)",
		"testdata/t.yaml:7:11: link has both a subnet and ipv4: none",
	}},
	{"route to", false, `
name: t
bridges: {lan: {}}
nodes:
  a:
    interfaces: {eth0: lan}
    routes:
      - {to: 10.0.0.1/8, via: 172.20.1.1}
      - {to: banana, via: 172.20.1.1}
      - {via: 172.20.1.1}
    cmd: [""]
    exec: ["  "]
`, []string{
		"testdata/t.yaml:7:14: route to 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)",
		"testdata/t.yaml:8:14: route to \"banana\" is not an IPv4 or IPv6 CIDR prefix or default",
		"testdata/t.yaml:9:9: route needs a \"to\"",
		"testdata/t.yaml:10:11: cmd: the program name is empty",
		"testdata/t.yaml:11:12: exec: empty command",
	}},
	{"two docs", false, `
name: t
---
name: u
`, []string{
		"testdata/t.yaml:3:1: only one YAML document is allowed",
	}},
	{"empty", false, `
# nothing
`, []string{
		"testdata/t.yaml:1:1: file is empty",
	}},
	{"rootfs not tar", false, `
name: t
nodes:
  a: {rootfs: binds/src/file}
`, []string{
		"testdata/t.yaml:3:15: rootfs binds/src/file is neither a directory nor a .tar/.tar.gz/.tgz/.tar.xz file",
	}},
}

func TestValidation(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(errorsOf(t, strings.TrimPrefix(tc.src, "\n"), Options{Isolated: tc.isolated}), "\n")
			want := strings.ReplaceAll(strings.Join(tc.want, "\n"), "$DIR", dir)
			if got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
