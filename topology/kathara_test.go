package topology

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeLab writes files (path → contents; a path ending in / is a
// directory) into a new lab directory and returns it.
func writeLab(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "My_Lab")
	for name, text := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func nodeOf(t *testing.T, p *Plan, name string) *Node {
	t.Helper()
	for i := range p.Nodes {
		if p.Nodes[i].Name == name {
			return &p.Nodes[i]
		}
	}
	t.Fatalf("no node %s in %+v", name, p.Nodes)
	return nil
}

func sysctl(n *Node, key string) string {
	for _, s := range n.Sysctls {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

func TestKatharaLabTranslates(t *testing.T) {
	dir := writeLab(t, map[string]string{
		"lab.conf": `LAB_NAME="ospf"
LAB_DESCRIPTION="two routers"
# a comment
r1[0]="A"
r1[1]="B/02:00:00:00:00:11"   # with a MAC
r1[image]="kathara/frr"
r1[sysctl]="net.ipv4.conf.all.forwarding=1"
r1[env]="ROLE=core"
r1[mem]="256m"
r1[cpus]=0.5
pc1[0]=A
pc1[bridged]=true
pc1[num_terms]=0
`,
		"r1.startup":          "ip address add 10.0.0.1/24 dev eth0\n",
		"r1.shutdown":         "echo bye\n",
		"shared.startup":      "#!/bin/bash\necho shared\n",
		"r1/etc/frr/frr.conf": "router ospf\n",
		"shared/":             "",
		"lab.dep":             "pc1: r1\n",
	})
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "ospf" || !strings.HasSuffix(p.File, "lab.conf") {
		t.Errorf("name %q file %q", p.Name, p.File)
	}
	var bridges []string
	for _, b := range p.Bridges {
		bridges = append(bridges, b.Name)
		if b.Name != katharaNATBridge && (b.Gateway.IsValid() || b.NAT) {
			t.Errorf("collision domain %s has a gateway or NAT: %+v", b.Name, b)
		}
	}
	if got := strings.Join(bridges, " "); got != "A B kathara-nat" {
		t.Errorf("bridges %q, want A B kathara-nat", got)
	}
	r1 := nodeOf(t, p, "r1")
	if len(r1.Interfaces) != 2 || r1.Interfaces[0].IPv4.IsValid() || r1.Interfaces[1].MAC != "02:00:00:00:00:11" {
		t.Errorf("r1 interfaces %+v: want eth0, eth1 unaddressed, eth1 with the given MAC", r1.Interfaces)
	}
	if !strings.HasPrefix(r1.Rootfs, "debian:bookworm+") || !strings.Contains(r1.Rootfs, "+frr") {
		t.Errorf("r1 rootfs %q, want the Debian kathara/frr", r1.Rootfs)
	}
	if sysctl(r1, "net.ipv4.ip_forward") != "1" || sysctl(r1, "net.ipv4.conf.all.rp_filter") != "0" ||
		sysctl(r1, "net.ipv4.conf.eth1.rp_filter") != "0" || sysctl(r1, "net.ipv4.conf.all.forwarding") != "1" {
		t.Errorf("r1 sysctls %+v: want Kathará's defaults and its own", r1.Sysctls)
	}
	if !slices.Contains(r1.Caps.Add, "SYS_ADMIN") || !slices.Contains(r1.Caps.Add, "NET_BROADCAST") {
		t.Errorf("r1 capabilities %+v, want Kathará's", r1.Caps)
	}
	if r1.Limits.MemoryBytes != 256<<20 || r1.Overlay != filepath.Join(dir, "r1") {
		t.Errorf("r1 limits %+v overlay %q", r1.Limits, r1.Overlay)
	}
	exec := strings.Join(r1.Exec, "\n")
	if !strings.Contains(exec, "/bin/bash /hostlab/shared.startup") || !strings.Contains(exec, "sh /hostlab/r1.startup") ||
		strings.Index(exec, "shared.startup") > strings.Index(exec, "r1.startup") {
		t.Errorf("r1 exec lines:\n%s\nwant shared.startup (by its #!) then r1.startup", exec)
	}
	if len(r1.Shutdown) != 1 || r1.Shutdown[0] != "sh /hostlab/r1.shutdown" {
		t.Errorf("r1 shutdown %q", r1.Shutdown)
	}
	binds := map[string]string{}
	for _, b := range r1.Binds {
		binds[b.Target] = b.Source
	}
	if binds["/hostlab"] != dir || binds["/shared"] != filepath.Join(dir, "shared") {
		t.Errorf("r1 binds %+v", r1.Binds)
	}
	pc1 := nodeOf(t, p, "pc1")
	if len(pc1.After) != 1 || pc1.After[0] != "r1" {
		t.Errorf("pc1 after %q, want r1 (lab.dep)", pc1.After)
	}
	if len(pc1.Interfaces) != 2 || pc1.Interfaces[1].Bridge != katharaNATBridge || !pc1.Interfaces[1].IPv4.IsValid() {
		t.Errorf("pc1 interfaces %+v: want eth1 on the NAT bridge, addressed", pc1.Interfaces)
	}
	if sysctl(pc1, "net.ipv6.conf.all.disable_ipv6") != "1" {
		t.Errorf("pc1 without ipv6=true keeps IPv6 on")
	}
}

func TestKatharaNameFallsBackAndIsOverridden(t *testing.T) {
	dir := writeLab(t, map[string]string{"lab.conf": "LAB_NAME=\"Not A Name\"\nh1[0]=\"A\"\n"})
	p, err := Load(filepath.Join(dir, "lab.conf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "my-lab" {
		t.Errorf("name %q, want the directory's name made valid (my-lab)", p.Name)
	}
	if p, err = Load(dir, Options{Name: "student1"}); err != nil || p.Name != "student1" {
		t.Errorf("--name: %v, %+v", err, p)
	}
}

func TestKatharaFolderIsADevice(t *testing.T) {
	dir := writeLab(t, map[string]string{"lab.conf": "h1[0]=\"A\"\n", "h2/etc/motd": "hi\n"})
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != 2 || p.Nodes[1].Name != "h2" || len(p.Nodes[1].Interfaces) != 0 {
		t.Errorf("nodes %+v, want h1 and the folder-only h2", p.Nodes)
	}
}

func TestKatharaErrorsAreLocated(t *testing.T) {
	dir := writeLab(t, map[string]string{
		"lab.conf": `h1[0]="A"
h1[port]="8080:80/tcp"
h1[ulimit]="nofile=1024"
h1[foo]=1
h2[image]="kathara/quagga"
this is not kathara
h3[0]="A/zz:zz"
h3[1]="bad-cd"
shared[0]="A"
9x[0]="A"
`,
		"lab.dep": "h1: h2\nh2: h1\nh4: h1\n",
	})
	_, err := Load(dir, Options{})
	errs, ok := err.(Errors)
	if !ok {
		t.Fatalf("err %v, want Errors", err)
	}
	conf, dep := filepath.Join(dir, "lab.conf")+":", filepath.Join(dir, "lab.dep")+":"
	for _, want := range []string{
		conf + "2:10: device h1: option port is not supported",
		conf + "3:12: device h1: option ulimit is not supported",
		conf + "4:9: device h1: unknown Kathará option \"foo\"",
		conf + "5:11: device h2: image kathara/quagga has no leolab root filesystem; map it with --image",
		conf + "6:1: not a Kathará line",
		conf + "7:7: device h3: \"zz:zz\" is not a unicast MAC",
		conf + "8:7: device h3: collision domain \"bad-cd\"",
		conf + "9:1: \"shared\" is a reserved name",
		conf + "10:1: device name \"9x\" cannot be a leolab node name",
		dep + "3:1: unknown device \"h4\"",
		"dependency loop: h1 -> h2 -> h1",
	} {
		if !strings.Contains(errs.Error(), want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
}

func TestKatharaImageMapping(t *testing.T) {
	dir := writeLab(t, map[string]string{"lab.conf": "h1[0]=\"A\"\nh1[image]=\"kathara/quagga:latest\"\nh2[image]=alpine\n"})
	p, err := Load(dir, Options{Images: []ImageMap{{Pattern: "kathara/quagga*", Rootfs: "busybox"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := nodeOf(t, p, "h1").Rootfs; r != "busybox" {
		t.Errorf("h1 rootfs %q, want busybox from --image", r)
	}
	if r := nodeOf(t, p, "h2").Rootfs; r != "docker://alpine" {
		t.Errorf("h2 rootfs %q, want docker://alpine", r)
	}
}
