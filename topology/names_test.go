package topology

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"leolab/internal/hostnames"
)

func TestDeviceNamesGolden(t *testing.T) {
	p, err := Load("testdata/spec/routing.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tag := hostnames.LabTag("routing")
	hash6 := hostnames.Hash6
	var got []string
	for _, b := range p.Bridges {
		got = append(got, b.Device, b.Alias, b.MAC)
	}
	for _, n := range p.Nodes {
		for _, i := range n.Interfaces {
			got = append(got, i.HostDevice, i.Alias, i.MAC)
		}
	}
	want := strings.Fields(fmt.Sprintf(`
		lb%[1]s%[2]s leolab:routing:bridge:lan %[18]s
		lb%[1]s%[3]s leolab:routing:bridge:core %[19]s
		lv%[1]s%[4]s leolab:routing:node:h1:eth0 %[5]s
		lv%[1]s%[6]s leolab:routing:node:r1:eth0 %[7]s
		lv%[1]s%[8]s leolab:routing:node:r1:eth1 %[9]s
		lp%[1]s%[10]s leolab:routing:node:r1:eth2 %[11]s
		lv%[1]s%[12]s leolab:routing:node:r2:eth0 %[13]s
		lv%[1]s%[14]s leolab:routing:node:r2:eth2 %[15]s
		lp%[1]s%[16]s leolab:routing:node:r2:eth1 %[17]s`,
		tag, hash6("routing/bridge/lan"), hash6("routing/bridge/core"),
		hash6("routing/h1/eth0"), mac("routing/h1/eth0"),
		hash6("routing/r1/eth0"), mac("routing/r1/eth0"),
		hash6("routing/r1/eth1"), mac("routing/r1/eth1"),
		hash6("routing/link/r1/eth2"), mac("routing/r1/eth2"),
		hash6("routing/r2/eth0"), mac("routing/r2/eth0"),
		hash6("routing/r2/eth2"), mac("routing/r2/eth2"),
		hash6("routing/link/r2/eth1"), mac("routing/r2/eth1"),
		hostnames.BridgeMAC("leolab:routing:bridge:lan", ""), hostnames.BridgeMAC("leolab:routing:bridge:core", ""),
	))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("names\n got %v\nwant %v", got, want)
	}
	// Pinned literally: the scheme is what destroy and sweeping rely on.
	if p.Bridges[0].Device != "lbfc6672154cab" || tag != "fc6672" {
		t.Errorf("bridge device %s (tag %s)", p.Bridges[0].Device, tag)
	}
}

// mac is the first MAC of node/iface in lab, from its seed LAB/NODE/IFACE.
func mac(seed string) string {
	parts := strings.Split(seed, "/")
	return hostnames.IfaceMAC(parts[0], parts[1], parts[2], 0)
}

func TestDeviceNamesUniqueAndShort(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: abcdefghijklmnopqrst\nbridges:\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "  Bridge-%d-with-a-long-name-xxxxx: {}\n", i)
	}
	b.WriteString("nodes:\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "  node-%d: {interfaces: {eth0: Bridge-%d-with-a-long-name-xxxxx, eth1.100-abcde: Bridge-%d-with-a-long-name-xxxxx}}\n", i, i%40, (i+1)%40)
	}
	b.WriteString("links:\n")
	for i := 0; i+1 < 60; i += 2 {
		fmt.Fprintf(&b, "  - endpoints: [node-%d:p, node-%d:p]\n", i, i+1)
	}
	p := mustParse(t, b.String(), Options{})
	seen := map[string]bool{}
	check := func(kind, name string, max int) {
		if len(name) > max || len(name) == 0 {
			t.Errorf("%s name %q is %d bytes", kind, name, len(name))
		}
		if seen[name] {
			t.Errorf("%s name %q used twice", kind, name)
		}
		seen[name] = true
	}
	macRE := regexp.MustCompile(`^02(:[0-9a-f]{2}){5}$`)
	for _, br := range p.Bridges {
		check("bridge", br.Device, 15)
		check("alias", br.Alias, 128)
	}
	for _, n := range p.Nodes {
		check("netns", hostnames.NodeNetns(p.Name, n.Name), 255)
		for _, i := range n.Interfaces {
			check("device", i.HostDevice, 15)
			check("alias", i.Alias, 128)
			check("mac", i.MAC, 17)
			if !macRE.MatchString(i.MAC) {
				t.Errorf("mac %s is not locally administered unicast", i.MAC)
			}
		}
	}
}

func TestNamerRehashesCollisions(t *testing.T) {
	n := newNamer("lab")
	first := n.portDevice("n", "same")
	second := n.portDevice("n", "same")
	if first == second || len(second) != 14 || !strings.HasPrefix(second, "lv"+hostnames.LabTag("lab")) {
		t.Errorf("collision not avoided: %s %s", first, second)
	}
	if again := newNamer("lab"); again.portDevice("n", "same") != first || again.portDevice("n", "same") != second {
		t.Error("rehashing is not deterministic")
	}
	if a, b := n.ifaceMAC("n", "m"), n.ifaceMAC("n", "m"); a == b {
		t.Errorf("mac collision not avoided: %s", a)
	}
}

// TestLabNetnsNeverANodeNetns: the isolated lab's namespace name can never
// be LAB-NODE for any valid lab and node names (reliability round 2,
// item 2: lab x's namespace was node x of lab leolab).
func TestLabNetnsNeverANodeNetns(t *testing.T) {
	nodeNetns := regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}-[A-Za-z][A-Za-z0-9-]{0,62}$`)
	for _, lab := range []string{"x", "leolab", "a-b", "leolab-x", strings.Repeat("z", 20)} {
		name := hostnames.LabNetns(lab)
		if nodeNetns.MatchString(name) {
			t.Errorf("LabNetns(%q) = %q has the form of a node's LAB-NODE", lab, name)
		}
		if !labNameRE().MatchString(lab) {
			t.Fatalf("test lab name %q is not valid", lab)
		}
	}
	if hostnames.LabNetns("x") == hostnames.NodeNetns("leolab", "x") {
		t.Error("isolated lab x and node leolab/x share a namespace name")
	}
}
