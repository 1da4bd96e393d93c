package topology

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func nodeByName(t *testing.T, p *Plan, name string) Node {
	t.Helper()
	for _, n := range p.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s in plan", name)
	return Node{}
}

func ifaceByName(t *testing.T, n Node, name string) Interface {
	t.Helper()
	for _, ifc := range n.Interfaces {
		if ifc.Name == name {
			return ifc
		}
	}
	t.Fatalf("node %s has no interface %s", n.Name, name)
	return Interface{}
}

// TestClabRouters translates a multi-router containerlab lab with defaults,
// kinds, groups, binds, exec lines, brief and typed links and a custom
// management subnet, and checks the resulting Plan.
func TestClabRouters(t *testing.T) {
	p, err := Load("testdata/clab/routers.clab.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata/clab")
	if p.Name != "clab-routers" {
		t.Errorf("name %q", p.Name)
	}
	// The management network: one bridge, NAT like Docker's, every eth0 on it.
	if len(p.Bridges) != 1 {
		t.Fatalf("bridges %+v, want only mgmt", p.Bridges)
	}
	mgmt := p.Bridges[0]
	if mgmt.Name != "mgmt" || mgmt.Subnet != netip.MustParsePrefix("172.20.30.0/24") || !mgmt.NAT ||
		mgmt.Gateway != netip.MustParseAddr("172.20.30.1") {
		t.Errorf("mgmt bridge %+v", mgmt)
	}
	var names []string
	for _, n := range p.Nodes {
		names = append(names, n.Name)
		eth0 := n.Interfaces[0]
		if eth0.Name != "eth0" || eth0.Bridge != "mgmt" || !mgmt.Subnet.Contains(eth0.IPv4.Addr()) {
			t.Errorf("node %s first interface %+v, want eth0 on mgmt", n.Name, eth0)
		}
	}
	if strings.Join(names, " ") != "r1 r2 h1 h2" {
		t.Errorf("nodes %v, want file order", names)
	}

	r1, r2, h1, h2 := nodeByName(t, p, "r1"), nodeByName(t, p, "r2"), nodeByName(t, p, "h1"), nodeByName(t, p, "h2")
	// mgmt-ipv4 is eth0's address; others get the next free ones.
	if got := ifaceByName(t, r1, "eth0").IPv4.String(); got != "172.20.30.11/24" {
		t.Errorf("r1 eth0 %s, want the mgmt-ipv4 172.20.30.11/24", got)
	}
	// image: group > kind; env: node > group > defaults merged; sysctls: group > kind.
	for _, c := range []struct {
		n      Node
		rootfs string
		env    []string
		fwd    string
	}{
		{r1, "docker://frrouting/frr:v8.4.1", []string{"LAB=routers", "ROLE=router"}, "1"},
		{r2, "docker://frrouting/frr:v8.4.1", []string{"LAB=routers", "ROLE=router"}, "1"},
		{h1, "docker://alpine:3.20", []string{"LAB=routers", "ROLE=host"}, "0"},
		{h2, "docker://alpine:3.20", []string{"LAB=routers", "ROLE=web"}, "0"},
	} {
		if c.n.Rootfs != c.rootfs {
			t.Errorf("%s rootfs %s, want %s", c.n.Name, c.n.Rootfs, c.rootfs)
		}
		if !reflect.DeepEqual(c.n.Env, c.env) {
			t.Errorf("%s env %v, want %v", c.n.Name, c.n.Env, c.env)
		}
		if want := []Sysctl{{Key: "net.ipv4.ip_forward", Value: c.fwd}}; !reflect.DeepEqual(c.n.Sysctls, want) {
			t.Errorf("%s sysctls %v, want %v", c.n.Name, c.n.Sysctls, want)
		}
	}
	// binds: relative to the file; the node's own /etc/lab replaces the group's.
	if want := []Bind{{Source: filepath.Join(dir, "configs/r1"), Target: "/etc/lab", ReadOnly: true}}; !reflect.DeepEqual(r1.Binds, want) {
		t.Errorf("r1 binds %+v, want %+v", r1.Binds, want)
	}
	if want := []Bind{{Source: filepath.Join(dir, "configs/common"), Target: "/etc/lab", ReadOnly: true}}; !reflect.DeepEqual(r2.Binds, want) {
		t.Errorf("r2 binds %+v, want %+v", r2.Binds, want)
	}
	if want := []Bind{{Source: filepath.Join(dir, "www"), Target: "/srv/www", ReadOnly: true}}; !reflect.DeepEqual(h2.Binds, want) {
		t.Errorf("h2 binds %+v, want %+v", h2.Binds, want)
	}
	// exec lines carry over in order; cmd is a shell command line.
	if len(r1.Exec) != 3 || r1.Exec[2] != "ip route add 192.168.2.0/24 via 10.0.12.2" {
		t.Errorf("r1 exec %q", r1.Exec)
	}
	if want := []string{"/bin/sh", "-c", "httpd -f -p 8080 -h /srv/www"}; !reflect.DeepEqual(h2.Cmd, want) {
		t.Errorf("h2 cmd %q, want %q", h2.Cmd, want)
	}
	// Links: brief ones bare (as in containerlab), the typed one addressed
	// from its endpoints, its ends swapped so the .1 holder comes first.
	if len(p.Links) != 3 {
		t.Fatalf("links %+v", p.Links)
	}
	wantLinks := []struct {
		ends   string
		subnet string
		mtu    int
	}{
		{"r1:eth1 r2:eth1", "invalid Prefix", 1500},
		{"h1:eth1 r1:eth2", "invalid Prefix", 1400},
		{"r2:eth2 h2:eth1", "192.168.2.0/24", 1500},
	}
	for i, w := range wantLinks {
		l := p.Links[i]
		if got := l.Endpoints[0].String() + " " + l.Endpoints[1].String(); got != w.ends || l.Subnet.String() != w.subnet || l.MTU != w.mtu {
			t.Errorf("link %d = %s %s mtu %d, want %+v", i, got, l.Subnet, l.MTU, w)
		}
	}
	if got := ifaceByName(t, r2, "eth2").IPv4.String(); got != "192.168.2.1/24" {
		t.Errorf("r2 eth2 %s, want 192.168.2.1/24", got)
	}
	if got := ifaceByName(t, h2, "eth1").IPv4.String(); got != "192.168.2.2/24" {
		t.Errorf("h2 eth1 %s, want 192.168.2.2/24", got)
	}
	if ifaceByName(t, r1, "eth1").IPv4.IsValid() {
		t.Error("brief link r1:eth1 got an address; containerlab leaves it to exec lines")
	}
}

// TestClabBridge: kind: bridge becomes a lab bridge without a host
// address; links to it become ports; a port address gives its subnet.
func TestClabBridge(t *testing.T) {
	p, err := Load("testdata/clab/bridge.clab.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Bridges) != 2 || p.Bridges[0].Name != "mgmt" || p.Bridges[1].Name != "br-lan" {
		t.Fatalf("bridges %+v", p.Bridges)
	}
	mgmt, lan := p.Bridges[0], p.Bridges[1]
	if mgmt.Subnet.String() != ClabMgmtSubnet {
		t.Errorf("mgmt subnet %s, want containerlab's default %s", mgmt.Subnet, ClabMgmtSubnet)
	}
	if lan.Gateway.IsValid() || lan.NAT || lan.Subnet.String() != "10.77.0.0/24" {
		t.Errorf("br-lan %+v: want no host address, no nat, subnet from b's port", lan)
	}
	if len(p.Links) != 0 {
		t.Errorf("links %+v, want none: every link ends on the bridge", p.Links)
	}
	for _, c := range []struct{ node, ipv4 string }{{"a", "invalid Prefix"}, {"b", "10.77.0.2/24"}, {"c", "invalid Prefix"}} {
		ifc := ifaceByName(t, nodeByName(t, p, c.node), "eth1")
		if ifc.Bridge != "br-lan" || ifc.IPv4.String() != c.ipv4 {
			t.Errorf("%s eth1 %+v, want a br-lan port with %s", c.node, ifc, c.ipv4)
		}
	}
	if n := nodeByName(t, p, "a"); n.Rootfs != "docker://alpine:3.20" {
		t.Errorf("a rootfs %s (from kinds.linux.image)", n.Rootfs)
	}
}

// TestClabRootfsOverrideAndIsolated: --rootfs replaces every image, and
// --isolated keeps the management network without NAT.
func TestClabRootfsOverrideAndIsolated(t *testing.T) {
	p, err := Load("testdata/clab/routers.clab.yml", Options{RootfsOverride: "busybox", Isolated: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.Nodes {
		if n.Rootfs != "busybox" {
			t.Errorf("%s rootfs %s, want busybox", n.Name, n.Rootfs)
		}
	}
	if p.Bridges[0].NAT {
		t.Error("mgmt has nat in an isolated lab")
	}
}

// TestClabUntranslatable: everything leolab cannot run is an error naming
// the field at its line:column, all at once; nothing is dropped.
func TestClabUntranslatable(t *testing.T) {
	_, err := Load("testdata/clab/bad.clab.yml", Options{})
	errs, ok := err.(Errors)
	if !ok {
		t.Fatalf("err = %v, want Errors", err)
	}
	want := []string{
		`:2:1: containerlab topology file: "prefix" cannot be translated`,
		`:4:3: mgmt: "ipv6-subnet" cannot be translated`,
		`:7:5: kinds: kind "nokia_srlinux" cannot be translated`,
		`:11:13: kind: nokia_srlinux (node srl1) cannot be translated`,
		`:14:7: node h1: "startup-config" cannot be translated`,
		`:19:7: node br1: "image" has no meaning for a kind: bridge node`,
		`:21:13: kind: ovs-bridge (node ovs) cannot be translated`,
		`:23:30: link endpoint host:h1-eth1 cannot be translated`,
		`:24:13: link type: macvlan cannot be translated`,
		`:28:45: ipv4 on one endpoint only`,
		`:32:45: endpoint ipv4 10.0.0.5/24 and 10.0.0.6/24: leolab gives a link's endpoints the first and second host`,
		`:32:58: endpoint: "mac" cannot be translated`,
	}
	got := errs.Error()
	for _, w := range want {
		if !strings.Contains(got, "bad.clab.yml"+w) {
			t.Errorf("missing error %q in:\n%s", w, got)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(errs), len(want), got)
	}
}

// TestClabPrecedence checks node > group > kind > defaults field by field,
// and that the leolab resolver's own checks still run on translated files.
func TestClabPrecedence(t *testing.T) {
	src := `name: prec
topology:
  defaults: {kind: linux, image: d, exec: [echo d], cmd: "sleep 1", env: {A: d, B: d, C: d, D: d}}
  kinds:
    linux: {image: k, exec: [echo k], env: {B: k, C: k, D: k}}
  groups:
    g: {image: g, env: {C: g, D: g}}
  nodes:
    n1: {group: g, env: {D: n}}
    n2: {image: own, exec: [echo n2]}
    n3: {kind: linux, mgmt-ipv4: 10.1.1.1}
`
	p, err := Parse("prec.clab.yml", []byte(src), Options{})
	if err == nil {
		t.Fatalf("mgmt-ipv4 outside the mgmt subnet accepted: %+v", p)
	}
	if !strings.Contains(err.Error(), "prec.clab.yml:11:34:") {
		t.Errorf("mgmt-ipv4 error not located at its value:\n%v", err)
	}
	p, err = Parse("prec.clab.yml", []byte(strings.Replace(src, "10.1.1.1", "172.20.20.9", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := nodeByName(t, p, "n1"), nodeByName(t, p, "n2")
	if n1.Rootfs != "docker://g" || n2.Rootfs != "docker://own" || nodeByName(t, p, "n3").Rootfs != "docker://k" {
		t.Errorf("images: n1 %s n2 %s", n1.Rootfs, n2.Rootfs)
	}
	if want := []string{"A=d", "B=k", "C=g", "D=n"}; !reflect.DeepEqual(n1.Env, want) {
		t.Errorf("n1 env %v, want %v", n1.Env, want)
	}
	if !reflect.DeepEqual(n1.Exec, []string{"echo k"}) || !reflect.DeepEqual(n2.Exec, []string{"echo n2"}) {
		t.Errorf("exec: n1 %q n2 %q", n1.Exec, n2.Exec)
	}
	if want := []string{"/bin/sh", "-c", "sleep 1"}; !reflect.DeepEqual(n1.Cmd, want) {
		t.Errorf("n1 cmd %q from defaults, want %q", n1.Cmd, want)
	}
	if got := ifaceByName(t, nodeByName(t, p, "n3"), "eth0").IPv4.String(); got != "172.20.20.9/24" {
		t.Errorf("n3 eth0 %s", got)
	}
}

// TestClabDetection: only a top-level topology: key switches formats, so a
// leolab file with a misspelt key still gets leolab's messages.
func TestClabDetection(t *testing.T) {
	_, err := Parse("x.yaml", []byte("name: x\nnodez: {}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown key "nodez"`) {
		t.Errorf("leolab file: %v", err)
	}
	_, err = Parse("x.yaml", []byte("name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n  links:\n    - endpoints: [\"a:eth0\", \"a:eth1\"]\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "x.yaml:6:19:") {
		t.Errorf("eth0 is the management interface; a link on it must be refused at its endpoint: %v", err)
	}
}

// TestClabMalformed: wrong shapes anywhere give located errors, never a
// panic or a plan.
func TestClabMalformed(t *testing.T) {
	for _, src := range []string{
		"name: m\ntopology: [a, b]\n",
		"name: m\ntopology: {nodes: [a]}\n",
		"name: m\ntopology: {nodes: {a: linux}}\n",
		"name: m\ntopology: {nodes: {a: {kind: 3}}}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux, group: nope}}}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}}, links: [x]}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}}, links: {}}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}}, links: [{endpoints: a:eth1}]}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}}, links: [{type: veth, endpoints: [x, y]}]}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}}, links: [{type: veth, endpoints: [{node: a}, {interface: eth1}]}]}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}, b: {kind: linux}}, links: [{endpoints: [\"a:eth1\", \"b\"]}]}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux}, b: {kind: linux}}, links: [{type: veth, endpoints: [{node: a, interface: e1, ipv4: x}, {node: b, interface: e1, ipv4: 10.0.0.2/30}]}]}\n",
		"name: m\ntopology: {nodes: {br: {kind: bridge}, br2: {kind: bridge}}, links: [{endpoints: [\"br:p1\", \"br2:p1\"]}]}\n",
		"name: m\ntopology: {nodes: {br: {kind: bridge}}, links: [{endpoints: [\"br:p1\", \"ghost:eth1\"]}]}\n",
		"name: m\ntopology: {nodes: {mgmt: {kind: bridge}}}\n",
		"name: m\nmgmt: {ipv4-subnet: banana}\ntopology: {nodes: {a: {kind: linux}}}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux, cmd: [sleep, 1]}}}\n",
		"name: m\ntopology: {nodes: {a: {kind: linux, binds: [nosuchdir:/x]}}}\n",
	} {
		p, err := Parse("m.clab.yml", []byte(src), Options{})
		if _, ok := err.(Errors); !ok || p != nil {
			t.Errorf("%q: plan %v, err %v; want located errors", src, p != nil, err)
			continue
		}
		for _, e := range err.(Errors) {
			if e.Line == 0 {
				t.Errorf("%q: error without a position: %v", src, e)
			}
		}
	}
}
