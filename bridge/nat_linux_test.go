//go:build linux

package bridge

import (
	"os/exec"
	"testing"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"leolab/internal/nstest"
	"leolab/topology"
)

// NAT from a lab node to an "upstream" namespace behind the emulated host,
// whose FORWARD policy is DROP (as on a Docker host): ping and TCP arrive
// from the host's upstream address; teardown leaves no rule. Runs once per
// installed iptables backend; the rules live only in the emulated host.
func TestNAT(t *testing.T) {
	for _, backend := range []string{"nft", "legacy"} {
		t.Run(backend, func(t *testing.T) {
			if _, err := exec.LookPath("iptables-" + backend); err != nil {
				t.Skipf("iptables-%s not installed", backend)
			}
			t.Setenv(IPTablesEnv, backend)
			testNAT(t)
		})
	}
}

func testNAT(t *testing.T) {
	host := enterHost(t)
	up := newNode(t)
	uplink(t, host, up.Handle)

	path, err := IPTablesPath()
	must(t, err)
	ipt, err := iptables.New(iptables.Path(path))
	must(t, err)
	must(t, ipt.ChangePolicy("filter", "FORWARD", "DROP"))

	lan := topology.Bridge{Name: "lan", Device: leak + "nat0", Alias: "leolab:" + leak + ":bridge:lan",
		Subnet: pfx("10.63.1.0/24"), Gateway: ip("10.63.1.1"), NAT: true, MTU: 1500}
	must(t, host.AddBridge(lan))
	n := newNode(t)
	must(t, host.AddPort(n.n, lan, port("eth0", "lan", leak+"n0", "10.63.1.2/24", "02:00:00:63:01:02", 1500)))
	must(t, SetupNode(n.n, topology.Node{Name: "n",
		Routes: []topology.Route{{To: pfx("0.0.0.0/0"), Via: ip("10.63.1.1")}}}))

	chain := "LEOLAB-" + leak
	// A new netns inherits ip_forward from the host's: start from a known 0.
	must(t, RestoreIPForward("0"))
	prev, err := IPForward()
	must(t, err)
	must(t, SetupForward(leak, chain, []topology.Bridge{lan}))
	must(t, SetupNAT(leak, chain, []topology.Bridge{lan}))
	must(t, SetupNAT(leak, chain, []topology.Bridge{lan})) // idempotent
	if prev != "0" {
		t.Errorf("previous ip_forward %q, want 0", prev)
	}
	if got, _ := IPForward(); got != "1" {
		t.Errorf("ip_forward %q after SetupNAT", got)
	}
	if c := nstest.Count("-j " + chain); c != 2 {
		t.Errorf("%d jumps to %s, want 2 (POSTROUTING, FORWARD)", c, chain)
	}
	var onHost int
	must(t, nstest.Do(netns.None(), func() error { onHost = nstest.Count(chain); return nil }))
	if onHost != 0 {
		t.Errorf("%d rules for %s in the real host namespace", onHost, chain)
	}

	mustPing(t, n.Handle, ip("198.51.100.2"))
	if from := tcpPeer(t, up.Handle, ip("198.51.100.2"), n.Handle); from != ip("198.51.100.1") {
		t.Errorf("tcp arrived upstream from %s, want the host's 198.51.100.1", from)
	}

	must(t, TeardownChain(chain))
	must(t, TeardownChain(chain)) // missing is success
	if c := nstest.Count(leak); c != 0 {
		t.Errorf("%d iptables lines mention %s after teardown", c, leak)
	}
	must(t, RestoreIPForward(prev))
	if got, _ := IPForward(); got != "0" {
		t.Errorf("ip_forward %q after restore", got)
	}
}

// uplink wires the emulated host to the upstream namespace:
// host lbtup0 198.51.100.1/24 <-> upstream eth0 198.51.100.2/24.
func uplink(t *testing.T, host *Host, up netns.NsHandle) {
	t.Helper()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = leak + "up0"
	must(t, host.handle.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(int(up))}))
	must(t, configureEnd(host.handle, attrs.Name, topology.Interface{IPv4: pfx("198.51.100.1/24")}))
	uh, err := netlink.NewHandleAt(up)
	must(t, err)
	defer uh.Close()
	must(t, configureEnd(uh, "eth0", topology.Interface{IPv4: pfx("198.51.100.2/24")}))
}
