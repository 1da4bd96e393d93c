//go:build linux

package e2e

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// simHost is one simulated leolab host: a network namespace of this kernel
// (sharing /run and the mount namespace with the real host, as two labs'
// roots do) with its own leolab root, joined to the other by a veth
// underlay.
type simHost struct {
	t    *testing.T
	name string
	ns   string // /run/netns name
	root string
}

// run runs leolab inside the host's network namespace.
func (h *simHost) run(args ...string) result {
	h.t.Helper()
	return h.runEnv(nil, args...)
}

func (h *simHost) runEnv(extraEnv []string, args ...string) result {
	h.t.Helper()
	argv := append([]string{"--net=/run/netns/" + h.ns, binary, "--root", h.root}, args...)
	r, err := runCmd(exec.Command("nsenter", argv...), extraEnv)
	if err != nil {
		h.t.Fatalf("run leolab on host %s %v: %v", h.name, args, err)
	}
	return r
}

func (h *simHost) must(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("host %s: leolab %s: exit %d\nstdout:\n%s\nstderr:\n%s", h.name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// links lists the host namespace's links (name and alias).
func (h *simHost) links() []string {
	h.t.Helper()
	handle := h.handle()
	defer handle.Close()
	ls, err := handle.LinkList()
	if err != nil {
		h.t.Fatalf("host %s: list links: %v", h.name, err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, l.Attrs().Name+" "+l.Attrs().Alias)
	}
	return out
}

func (h *simHost) handle() *netlink.Handle {
	h.t.Helper()
	ns, err := netns.GetFromName(h.ns)
	if err != nil {
		h.t.Fatalf("open netns %s: %v", h.ns, err)
	}
	defer ns.Close()
	handle, err := netlink.NewHandleAt(ns)
	if err != nil {
		h.t.Fatalf("netlink in %s: %v", h.ns, err)
	}
	return handle
}

// newSimHosts makes two host namespaces joined by a veth underlay
// (10.250.77.1 and .2, nothing outside them touched), removed at the end.
func newSimHosts(t *testing.T, prefix string) (a, b *simHost) {
	t.Helper()
	a = &simHost{t: t, name: "a", ns: prefix + "-host-a", root: t.TempDir()}
	b = &simHost{t: t, name: "b", ns: prefix + "-host-b", root: t.TempDir()}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	var handles []netns.NsHandle
	for _, h := range []*simHost{a, b} {
		ns, err := netns.NewNamed(h.ns) // switches this thread into it
		if err != nil {
			netns.Set(orig)
			t.Fatalf("create netns %s: %v", h.ns, err)
		}
		handles = append(handles, ns)
		t.Cleanup(func() { netns.DeleteNamed(h.ns) })
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	defer handles[0].Close()
	defer handles[1].Close()
	ha, hb := a.handle(), b.handle()
	defer ha.Close()
	defer hb.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "under0"
	if err := ha.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "under0", PeerNamespace: netlink.NsFd(int(handles[1]))}); err != nil {
		t.Fatalf("create underlay veth: %v", err)
	}
	for i, h := range []*netlink.Handle{ha, hb} {
		for _, name := range []string{"lo", "under0"} {
			l, err := h.LinkByName(name)
			if err != nil {
				t.Fatal(err)
			}
			if name == "under0" {
				addr, _ := netlink.ParseAddr([]string{"10.250.77.1/24", "10.250.77.2/24"}[i])
				if err := h.AddrAdd(l, addr); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.LinkSetUp(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a, b
}

const multiHostTopo = `name: mh20
hosts:
  a: {address: 10.250.77.1}
  b: {address: 10.250.77.2}
bridges:
  lan: {subnet: 10.201.0.0/24}
nodes:
  h1:
    interfaces: {eth0: lan}
    routes: [{to: 10.201.2.0/30, via: 10.201.1.2}]
  h2: {host: b, interfaces: {eth0: lan}}
  r2:
    host: b
    sysctls: {net.ipv4.ip_forward: "1"}
  h3:
    host: b
    routes: [{to: 10.201.1.0/30, via: 10.201.2.1}]
links:
  - endpoints: [h1:eth1, r2:eth1]
    subnet: 10.201.1.0/30
  - endpoints: [r2:eth2, h3:eth1]
    subnet: 10.201.2.0/30
`

// TestMultiHostLab runs one lab across two simulated hosts: a bridge
// segment and a point-to-point link across them (VXLAN), static routing
// from host a through a router on host b, the cross-host MTU, remote nodes
// in inspect and exec, and destroy on both leaving nothing anywhere.
func TestMultiHostLab(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("mh.yaml", multiHostTopo)
	a, b := newSimHosts(t, "mh20")
	a.must("deploy", "--host", "a", topo)
	aUp := true
	defer func() {
		if aUp {
			a.run("destroy", "--lab", "mh20")
		}
	}()
	b.must("deploy", "--host", "b", topo)
	bUp := true
	defer func() {
		if bUp {
			b.run("destroy", "--lab", "mh20")
		}
	}()

	ping := func(h *simHost, node string, args ...string) bool {
		return h.run(append([]string{"exec", node, "--", "ping", "-c", "1", "-W", "1"}, args...)...).code == 0
	}
	for _, c := range []struct {
		what   string
		host   *simHost
		node   string
		target string
	}{
		{"bridge across hosts", a, "h1", "10.201.0.3"},    // h2 on b
		{"gateway on host a only", b, "h2", "10.201.0.1"}, // lan's .1 lives on a
		{"p2p link across hosts", a, "h1", "10.201.1.2"},  // r2 on b
		{"routed through host b", a, "h1", "10.201.2.2"},  // h3 behind r2
		{"routed back", b, "h3", "10.201.1.1"},            // h1 from h3
		{"remote names in /etc/hosts", b, "h2", "h1"},     // the hosts file names remote nodes
	} {
		ok := false
		deadline := time.Now().Add(15 * time.Second)
		for !ok && time.Now().Before(deadline) {
			ok = ping(c.host, c.node, c.target)
		}
		if !ok {
			t.Errorf("%s: %s on host %s cannot ping %s", c.what, c.node, c.host.name, c.target)
		}
	}

	// MTU: 1500 underlay - 50 of VXLAN = 1450 on every cross-host interface;
	// a full 1450-byte packet (1422 bytes of ICMP data) crosses both kinds.
	for _, ifc := range []string{"eth0", "eth1"} {
		if out := a.must("exec", "h1", "--", "cat", "/sys/class/net/"+ifc+"/mtu"); strings.TrimSpace(out) != "1450" {
			t.Errorf("h1 %s mtu %q, want 1450", ifc, out)
		}
	}
	if out := b.must("exec", "r2", "--", "cat", "/sys/class/net/eth2/mtu"); strings.TrimSpace(out) != "1500" {
		t.Errorf("r2 eth2 (local link) mtu %q, want 1500", out)
	}
	for _, target := range []string{"10.201.0.3", "10.201.1.2"} {
		if !ping(a, "h1", "-s", "1422", target) {
			t.Errorf("a 1450-byte packet from h1 to %s does not cross", target)
		}
	}

	// One byte more than the underlay carries: with the p2p VXLAN ends
	// raised to 1451, a 1451-byte packet (DF set, as busybox ping sends
	// what fits the interface) needs 1501 bytes on the underlay and is
	// refused by the VXLAN device.
	setMTU(t, "mh20-h1", "eth1", 1451)
	setMTU(t, "mh20-r2", "eth1", 1451)
	if ping(a, "h1", "-s", "1423", "10.201.1.2") {
		t.Errorf("a 1451-byte packet crossed a 1500-byte underlay in VXLAN")
	}

	// Host b's bridge has no gateway address: the segment has one .1.
	hb := b.handle()
	for _, l := range b.links() {
		if !strings.Contains(l, "leolab:mh20:bridge:lan") {
			continue
		}
		link, _ := hb.LinkByName(strings.Fields(l)[0])
		if addrs, _ := hb.AddrList(link, netlink.FAMILY_V4); len(addrs) != 0 {
			t.Errorf("host b's bridge lan has addresses %v", addrs)
		}
	}
	hb.Close()

	// inspect shows remote nodes; exec into one names its host.
	if out := a.must("inspect", "--lab", "mh20"); !strings.Contains(out, "remote (host b)") {
		t.Errorf("inspect on host a does not show remote nodes:\n%s", out)
	}
	if r := a.run("exec", "h2", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "runs on host b") {
		t.Errorf("exec into a remote node: exit %d %s", r.code, r.stderr)
	}
	// Both hosts computed the same lab: h1 as host a runs it and as host b
	// knows it has the same addresses and MACs.
	if ja, jb := nodeJSON(t, a, "h1"), nodeJSON(t, b, "h1"); ja != jb {
		t.Errorf("hosts disagree on h1:\n a: %s\n b: %s", ja, jb)
	}

	if r := a.run("destroy", "--host", "b", "--lab", "mh20"); r.code == 0 {
		t.Errorf("destroy --host b on host a succeeded")
	}
	a.must("destroy", "--host", "a", "--lab", "mh20")
	aUp = false
	b.must("destroy", "--host", "b", topo)
	bUp = false
	for _, h := range []*simHost{a, b} {
		if got := strings.Join(h.links(), ","); got != "lo ,under0 " {
			t.Errorf("host %s keeps links after destroy: %s", h.name, got)
		}
		if files := filesUnder(h.root); len(files) != 0 {
			t.Errorf("host %s keeps files in its root after destroy: %v", h.name, files)
		}
	}
}

// setMTU sets the MTU of a node's interface (test only).
func setMTU(t *testing.T, nsName, ifc string, mtu int) {
	t.Helper()
	h := (&simHost{t: t, name: nsName, ns: nsName}).handle()
	defer h.Close()
	l, err := h.LinkByName(ifc)
	if err == nil {
		err = h.LinkSetMTU(l, mtu)
	}
	if err != nil {
		t.Fatalf("%s %s: set mtu %d: %v", nsName, ifc, mtu, err)
	}
}

// nodeJSON is a node's interfaces as inspect --format json on h shows them.
func nodeJSON(t *testing.T, h *simHost, node string) string {
	t.Helper()
	var v struct {
		Nodes []struct {
			Name       string          `json:"name"`
			Interfaces json.RawMessage `json:"interfaces"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(h.must("inspect", "--format", "json", "--lab", "mh20")), &v); err != nil {
		t.Fatal(err)
	}
	for _, n := range v.Nodes {
		if n.Name == node {
			return string(n.Interfaces)
		}
	}
	return ""
}

// TestMultiHostKilledDeployIsDestroyed: a share killed once its VXLAN
// devices exist is removed by destroy, leaving the host namespace as it was.
func TestMultiHostKilledDeployIsDestroyed(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("mhk.yaml", strings.Replace(multiHostTopo, "name: mh20", "name: mh20k", 1))
	a, b := newSimHosts(t, "mh20k")
	for _, h := range []*simHost{a, b} {
		r := h.runEnv([]string{"LEOLAB_FAULT_AT=configure nodes"}, "deploy", "--host", h.name, topo)
		if r.code != 128+int(syscall.SIGKILL) {
			t.Fatalf("host %s: deploy with a fault: exit %d, want killed\n%s", h.name, r.code, r.stderr)
		}
		if got := strings.Join(h.links(), ","); !strings.Contains(got, "leolab:mh20k:") {
			t.Fatalf("host %s: the killed deploy left no lab devices to clean (%s): the fault came too early", h.name, got)
		}
		h.must("destroy", "--host", h.name, "--lab", "mh20k")
		if got := strings.Join(h.links(), ","); got != "lo ,under0 " {
			t.Errorf("host %s keeps links after destroy: %s", h.name, got)
		}
		if files := filesUnder(h.root); len(files) != 0 {
			t.Errorf("host %s keeps files in its root after destroy: %v", h.name, files)
		}
	}
}
