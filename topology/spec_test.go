package topology

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestSpecExample resolves the example of SPEC §1 (testdata/spec/routing.yaml,
// only the rootfs tarball and bind source made to exist) and checks every
// address and route SPEC §3 implies.
func TestSpecExample(t *testing.T) {
	p, err := Load("testdata/spec/routing.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata/spec")
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr

	if p.Name != "routing" || p.Pool != pfx("172.20.0.0/16") || p.File != filepath.Join(dir, "routing.yaml") {
		t.Errorf("lab = %q pool %s file %s", p.Name, p.Pool, p.File)
	}
	wantBridges := []struct {
		name, subnet, gateway string
		nat                   bool
	}{
		{"lan", "172.20.1.0/24", "172.20.1.1", true},   // static subnet
		{"core", "172.20.2.0/24", "172.20.2.1", false}, // lowest free /24 from x.x.1.0 up
	}
	if len(p.Bridges) != len(wantBridges) {
		t.Fatalf("%d bridges, want %d", len(p.Bridges), len(wantBridges))
	}
	for i, w := range wantBridges {
		b := p.Bridges[i]
		if b.Name != w.name || b.Subnet != pfx(w.subnet) || b.Gateway != addr(w.gateway) || b.NAT != w.nat || b.MTU != 1500 {
			t.Errorf("bridge %d = %+v, want %+v", i, b, w)
		}
	}

	type ifc struct{ node, name, bridge, peer, ipv4 string }
	want := []ifc{
		{"h1", "eth0", "lan", "", "172.20.1.2/24"},       // first automatic address on lan
		{"r1", "eth0", "lan", "", "172.20.1.254/24"},     // static
		{"r1", "eth1", "core", "", "172.20.2.2/24"},      // first automatic on core
		{"r1", "eth2", "", "r2:eth1", "172.20.240.1/30"}, // link: first host
		{"r2", "eth0", "core", "", "172.20.2.3/24"},      // next on core
		{"r2", "eth2", "lan", "", ""},                    // ipv4: none
		{"r2", "eth1", "", "r1:eth2", "172.20.240.2/30"}, // link: second host
	}
	var got []ifc
	for _, n := range p.Nodes {
		for _, i := range n.Interfaces {
			a := ""
			if i.IPv4.IsValid() {
				a = i.IPv4.String()
			}
			got = append(got, ifc{n.Name, i.Name, i.Bridge, i.Peer, a})
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("interfaces:\n got %v\nwant %v", got, want)
	}

	wantRoutes := map[string][]Route{
		// on exactly one nat bridge, no gateway: default via lan's .1
		"h1": {{To: pfx("0.0.0.0/0"), Via: addr("172.20.1.1")}},
		"r1": {{To: pfx("0.0.0.0/0"), Via: addr("172.20.1.1")}},
		// gateway: r1 and via: r1 are r1's address on core, the first subnet both share
		"r2": {{To: pfx("0.0.0.0/0"), Via: addr("172.20.2.2")}, {To: pfx("10.99.0.0/16"), Via: addr("172.20.2.2")}},
	}
	for i, n := range p.Nodes {
		if n.Index != i {
			t.Errorf("node %s index %d, want %d", n.Name, n.Index, i)
		}
		if !reflect.DeepEqual(n.Routes, wantRoutes[n.Name]) {
			t.Errorf("node %s routes %v, want %v", n.Name, n.Routes, wantRoutes[n.Name])
		}
	}

	h1, r1, r2 := p.Nodes[0], p.Nodes[1], p.Nodes[2]
	if h1.Rootfs != "busybox" || r1.Rootfs != filepath.Join(dir, "ubuntu-base-24.04-base-amd64.tar.gz") {
		t.Errorf("rootfs h1 %q r1 %q", h1.Rootfs, r1.Rootfs)
	}
	if !reflect.DeepEqual(r1.Sysctls, []Sysctl{{Key: "net.ipv4.ip_forward", Value: "1"}}) {
		t.Errorf("r1 sysctls %v", r1.Sysctls)
	}
	if !reflect.DeepEqual(r2.Env, []string{"ROLE=edge"}) ||
		!reflect.DeepEqual(r2.Exec, []string{"ip addr add 10.88.0.1/32 dev lo"}) ||
		!reflect.DeepEqual(r2.Cmd, []string{"httpd", "-f", "-p", "80"}) {
		t.Errorf("r2 env %v exec %v cmd %v", r2.Env, r2.Exec, r2.Cmd)
	}
	if !reflect.DeepEqual(r2.Binds, []Bind{{Source: filepath.Join(dir, "configs/r2"), Target: "/etc/app", ReadOnly: true}}) {
		t.Errorf("r2 binds %v", r2.Binds)
	}
	if r2.Limits != (Limits{MemoryBytes: 256 << 20, Pids: 512, CPUs: 0.5}) || r2.Privileged || r2.UserNamespace {
		t.Errorf("r2 limits %+v privileged %v userns %v", r2.Limits, r2.Privileged, r2.UserNamespace)
	}

	if len(p.Links) != 1 {
		t.Fatalf("%d links", len(p.Links))
	}
	l := p.Links[0]
	netem := &Netem{Delay: 20 * time.Millisecond, Jitter: 2 * time.Millisecond, LossPct: 1, RateBits: 10_000_000}
	if l.Subnet != pfx("172.20.240.0/30") || l.MTU != 9000 || !reflect.DeepEqual(l.Netem, netem) ||
		l.Endpoints != [2]Endpoint{{"r1", "eth2"}, {"r2", "eth1"}} {
		t.Errorf("link %+v", l)
	}
	r1eth2 := r1.Interfaces[2]
	if r1eth2.Link != 0 || r1eth2.MTU != 9000 || !reflect.DeepEqual(r1eth2.Netem, netem) {
		t.Errorf("r1:eth2 %+v", r1eth2)
	}
	if r1.Interfaces[0].Link != -1 || r1.Interfaces[0].MTU != 1500 {
		t.Errorf("r1:eth0 %+v", r1.Interfaces[0])
	}
	if h1.FirstAddr() != addr("172.20.1.2") {
		t.Errorf("h1 first address %s", h1.FirstAddr())
	}
}
