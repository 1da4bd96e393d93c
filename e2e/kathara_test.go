//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeKatharaLab writes a Kathará lab (path → contents; a mode of 0755
// for paths under init.d) into a new directory named dirName.
func writeKatharaLab(t *testing.T, dirName string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), dirName)
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(name, "init.d/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// katharaStaticLab is a router between two collision domains, each host
// addressed and routed by its startup file, as Kathará's static-routing
// labs are; it exercises DEV/ trees, shared/, shutdown files, lab.dep,
// a MAC address, sysctl and mem, and systemctl through /etc/init.d.
var katharaStaticLab = map[string]string{
	"lab.conf": `LAB_NAME="kst"
LAB_DESCRIPTION="static routing across one router"
r1[0]="A"
r1[1]="B"
r1[sysctl]="net.ipv4.conf.all.send_redirects=0"
pc1[0]="A"
pc1[mem]="64m"
pc2[0]="B/02:00:00:00:aa:01"
`,
	"lab.dep":              "pc1: r1\n",
	"shared.startup":       "echo $(hostname) >> /shared/started\n",
	"r1.startup":           "ip address add 10.1.0.1/24 dev eth0\nip address add 10.2.0.1/24 dev eth1\nip link set eth0 up\nip link set eth1 up\n",
	"pc1.startup":          "ip address add 10.1.0.2/24 dev eth0\nip link set eth0 up\nip route add default via 10.1.0.1\nsystemctl start hello\n",
	"pc2.startup":          "ip address add 10.2.0.2/24 dev eth0\nip link set eth0 up\nip route add default via 10.2.0.1\n",
	"r1.shutdown":          "echo r1 stopped > /shared/r1-shutdown\n",
	"pc1/etc/motd":         "welcome to pc1\n",
	"pc1/etc/init.d/hello": "#!/bin/sh\necho \"$1\" > /tmp/hello-ran\n",
	"shared/readme":        "shared with every device\n",
}

// TestKatharaStaticRoutingLab deploys a Kathará lab directory as it is (on
// the built-in image here: the static lab needs nothing else), pings across
// its router, checks every mapped option inside the nodes, then destroys
// it: the shutdown file ran and nothing is left.
func TestKatharaStaticRoutingLab(t *testing.T) {
	e := newEnv(t)
	e.own("kst")
	dir := writeKatharaLab(t, "kathara-static", katharaStaticLab)
	e.must("deploy", "--rootfs", "busybox", dir)
	destroyed := false
	defer func() {
		if !destroyed {
			e.must("destroy", dir)
		}
	}()
	if !e.reachable("pc1", "10.2.0.2") {
		t.Fatal("pc1 cannot reach pc2 through r1 (routes from the startup files)")
	}
	if out := e.must("exec", "pc1", "cat", "/etc/motd"); out != "welcome to pc1\n" {
		t.Errorf("pc1 /etc/motd = %q, want the pc1/ tree's", out)
	}
	e.must("exec", "pc1", "--", "sh", "-c", "echo changed > /etc/motd")
	if b, _ := os.ReadFile(filepath.Join(dir, "pc1/etc/motd")); string(b) != "welcome to pc1\n" {
		t.Errorf("a write inside the node reached the lab's file: %q", b)
	}
	if out := e.must("exec", "pc1", "cat", "/tmp/hello-ran"); out != "start\n" {
		t.Errorf("systemctl start hello ran /etc/init.d/hello with %q, want start", out)
	}
	if out := e.must("exec", "pc2", "cat", "/sys/class/net/eth0/address"); strings.TrimSpace(out) != "02:00:00:00:aa:01" {
		t.Errorf("pc2 eth0 MAC %q, want the one lab.conf gives", out)
	}
	for node, want := range map[string]string{"r1": "1", "pc1": "1"} {
		if out := e.must("exec", node, "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(out) != want {
			t.Errorf("%s ip_forward = %q, want Kathará's 1", node, out)
		}
	}
	if out := e.must("exec", "r1", "cat", "/proc/sys/net/ipv4/conf/all/send_redirects"); strings.TrimSpace(out) != "0" {
		t.Errorf("r1 sysctl from lab.conf not applied: %q", out)
	}
	if out := e.must("exec", "pc1", "cat", "/proc/sys/net/ipv4/conf/all/rp_filter"); strings.TrimSpace(out) != "0" {
		t.Errorf("pc1 rp_filter = %q, want 0", out)
	}
	if out := e.must("exec", "pc2", "cat", "/shared/readme"); out != "shared with every device\n" {
		t.Errorf("/shared in pc2: %q", out)
	}
	started, _ := os.ReadFile(filepath.Join(dir, "shared/started"))
	if lines := strings.Fields(string(started)); len(lines) != 3 || indexOf(lines, "r1") > indexOf(lines, "pc1") {
		t.Errorf("shared.startup ran as %q: want once per device, r1 before pc1 (lab.dep)", lines)
	}
	if r := e.run("exec", "pc2", "--", "systemctl", "start", "nothing"); r.code != 5 || !strings.Contains(r.stderr, "no service nothing") {
		t.Errorf("systemctl of a missing service: exit %d, %q", r.code, r.stderr)
	}
	e.must("destroy", dir)
	destroyed = true
	if b, err := os.ReadFile(filepath.Join(dir, "shared/r1-shutdown")); err != nil || string(b) != "r1 stopped\n" {
		t.Errorf("r1.shutdown did not run at destroy: %q %v", b, err)
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// TestKatharaLabTwiceWithName: validate and graph read a Kathará lab,
// deploy --name runs it twice side by side, and a bad option is a located
// error that changes nothing.
func TestKatharaLabTwiceWithName(t *testing.T) {
	e := newEnv(t)
	e.own("kst-a", "kst-b")
	dir := writeKatharaLab(t, "kathara-static", katharaStaticLab)
	if out := e.must("validate", dir); !strings.Contains(out, "lab kst ") || !strings.Contains(out, "02:00:00:00:aa:01") {
		t.Errorf("validate DIR does not print the translated plan:\n%s", out)
	}
	if out := e.must("graph", "--format", "mermaid", dir); !strings.Contains(out, "pc2") {
		t.Errorf("graph DIR does not draw the lab:\n%s", out)
	}
	e.must("deploy", "--rootfs", "busybox", "--name", "kst-a", dir)
	defer e.must("destroy", "--lab", "kst-a")
	e.must("deploy", "--rootfs", "busybox", "--name", "kst-b", filepath.Join(dir, "lab.conf"))
	defer e.must("destroy", "--lab", "kst-b")
	if !e.reachable("kst-a/pc1", "10.2.0.2") || !e.reachable("kst-b/pc1", "10.2.0.2") {
		t.Error("the two copies of the lab do not both route")
	}
	bad := writeKatharaLab(t, "bad", map[string]string{"lab.conf": "h1[0]=\"A\"\nh1[port]=\"8080:80\"\n"})
	r := e.run("deploy", bad)
	if r.code != 2 || !strings.Contains(r.stderr, filepath.Join(bad, "lab.conf")+":2:") || !strings.Contains(r.stderr, "port") {
		t.Errorf("unsupported option: exit %d, %q; want 2 and lab.conf:2 naming port", r.code, r.stderr)
	}
}

// katharaRouterLab is two FRR routers between two host LANs, in Kathará's
// format: FRR's files in the routers' DEV/etc/frr, started from the startup
// files with `systemctl start frr`, as Kathará's OSPF and BGP labs do.
// proto is "ospf" or "bgp".
func katharaRouterLab(proto string) map[string]string {
	daemons := "zebra=yes\nstaticd=yes\n" + proto + "d=yes\nvtysh_enable=yes\n"
	conf := map[string]string{
		"ospf": "router ospf\n ospf router-id %[1]d.%[1]d.%[1]d.%[1]d\n network 10.0.0.0/8 area 0\n",
		"bgp": "router bgp 6500%[1]d\n bgp router-id %[1]d.%[1]d.%[1]d.%[1]d\n no bgp ebgp-requires-policy\n" +
			" neighbor 10.12.0.%[2]d remote-as 6500%[2]d\n address-family ipv4 unicast\n  network 10.%[1]d.0.0/24\n exit-address-family\n",
	}[proto]
	files := map[string]string{
		"lab.conf":    "LAB_NAME=\"k" + proto + "\"\npc1[0]=\"A\"\nr1[0]=\"A\"\nr1[1]=\"B\"\nr2[0]=\"B\"\nr2[1]=\"C\"\npc2[0]=\"C\"\nr1[image]=\"kathara/frr\"\nr2[image]=\"kathara/frr\"\n",
		"pc1.startup": "ip address add 10.1.0.2/24 dev eth0\nip link set eth0 up\nip route add default via 10.1.0.1\n",
		"pc2.startup": "ip address add 10.2.0.2/24 dev eth0\nip link set eth0 up\nip route add default via 10.2.0.1\n",
		"r1.startup":  "ip address add 10.1.0.1/24 dev eth0\nip address add 10.12.0.1/24 dev eth1\nip link set eth0 up\nip link set eth1 up\nsystemctl start frr\n",
		"r2.startup":  "ip address add 10.12.0.2/24 dev eth0\nip address add 10.2.0.1/24 dev eth1\nip link set eth0 up\nip link set eth1 up\nsystemctl start frr\n",
	}
	for i, r := range []string{"r1", "r2"} {
		files[r+"/etc/frr/daemons"] = daemons
		files[r+"/etc/frr/frr.conf"] = "frr defaults traditional\nhostname " + r + "\n" + fmt.Sprintf(conf, i+1, 2-i)
	}
	return files
}

// TestKatharaFRRLabs: an OSPF and a BGP lab in Kathará's format converge,
// their routers running FRR started by the startup files, with Kathará's
// capabilities and no privileged mode; hosts reach each other across them.
func TestKatharaFRRLabs(t *testing.T) {
	rootfs := routerRootfs(t)
	for _, proto := range []string{"ospf", "bgp"} {
		t.Run(proto, func(t *testing.T) {
			e := newEnv(t)
			e.own("k" + proto)
			dir := writeKatharaLab(t, "kathara-"+proto, katharaRouterLab(proto))
			// The routers' image is mapped to the cached FRR tree (building
			// kathara/frr's Debian image is the image tests' business); the
			// hosts keep the built-in image.
			e.must("deploy", "--image", "kathara/frr="+rootfs, "--image", "kathara/base=busybox", dir)
			defer e.must("destroy", dir)
			poll(t, "pc1 to reach pc2 across the routers", converge, func() bool { return e.ping("pc1", "10.2.0.2") })
			switch proto {
			case "ospf":
				if n := e.ospfFull("r1"); n != 1 {
					t.Errorf("r1 has %d OSPF neighbours Full, want 1", n)
				}
			case "bgp":
				if n := e.bgpEstablished("r2"); n != 1 {
					t.Errorf("r2 has %d BGP sessions Established, want 1", n)
				}
			}
			if out := e.must("exec", "r1", "--", "ps", "-eo", "user,comm"); !strings.Contains(out, "watchfrr") {
				t.Errorf("no watchfrr in r1:\n%s", out)
			}
			if out := e.must("exec", "r1", "--", "vtysh", "-c", "show running-config"); !strings.Contains(out, "hostname r1") {
				t.Errorf("vtysh in r1 does not show r1's configuration:\n%s", out)
			}
		})
	}
}

// TestKatharaImagesMappedAutomatically: the OSPF lab as Kathará runs it,
// no --image: kathara/frr becomes leolab's Debian image with Kathará's base
// tools and FRR, built once from the host's apt sources into this root's
// cache, and the lab converges on it.
func TestKatharaImagesMappedAutomatically(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a Debian image build")
	}
	e := newEnv(t)
	e.own("kospf")
	files := katharaRouterLab("ospf")
	files["lab.conf"] += "pc1[image]=\"kathara/frr\"\npc2[image]=\"kathara/frr\"\n" // one image for all
	dir := writeKatharaLab(t, "kathara-ospf", files)
	e.must("deploy", dir)
	defer e.must("destroy", dir)
	poll(t, "pc1 to reach pc2 across the routers", converge, func() bool { return e.ping("pc1", "10.2.0.2") })
	if n := e.ospfFull("r2"); n != 1 {
		t.Errorf("r2 has %d OSPF neighbours Full, want 1", n)
	}
	// Kathará's base tools are there (tcpdump, dig, traceroute, ...).
	e.must("exec", "pc1", "--", "sh", "-c", "command -v tcpdump dig traceroute iperf3 curl")
}

// TestKatharaFailingStartupRollsBack: a startup file that fails shows its
// output and rolls the deploy back, and a device waiting for it in lab.dep
// does not hang the deploy.
func TestKatharaFailingStartupRollsBack(t *testing.T) {
	e := newEnv(t)
	e.own("kfail")
	dir := writeKatharaLab(t, "kfail", map[string]string{
		"lab.conf":    "LAB_NAME=\"kfail\"\nr1[0]=\"A\"\npc1[0]=\"A\"\npc2[0]=\"A\"\n",
		"lab.dep":     "pc1: r1\npc2: pc1\n",
		"r1.startup":  "echo no route for you\nexit 3\n",
		"pc1.startup": "echo pc1 ran > /hostlab/never\n",
	})
	r := e.run("deploy", "--rootfs", "busybox", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "node r1: exec \"sh /hostlab/r1.startup\"") || !strings.Contains(r.stderr, "no route for you") {
		t.Errorf("failing startup: exit %d, stderr %q; want 1 naming r1's startup and its output", r.code, r.stderr)
	}
	if out := e.must("list"); strings.Contains(out, "kfail") {
		t.Errorf("the failed deploy left its lab:\n%s", out)
	}
}
