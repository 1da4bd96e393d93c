//go:build linux

package bridge

import (
	"testing"

	"leolab/topology"
)

// Two LANs joined by a router node, bridges in an emulated host namespace:
// ping and TCP across, MTU equal on both ends, deterministic MACs applied,
// gateway address on the bridge, no automatic IPv6 on any lab link, sweep
// by alias.
func TestTwoLANsAndRouter(t *testing.T) {
	host := enterHost(t)

	lan1 := topology.Bridge{Name: "lan1", Device: leak + "br1", Alias: "leolab:" + leak + ":bridge:lan1", MAC: "02:00:00:61:01:01",
		Subnet: pfx("10.61.1.0/24"), Gateway: ip("10.61.1.1"), MTU: 1400}
	lan2 := topology.Bridge{Name: "lan2", Device: leak + "br2", Alias: "leolab:" + leak + ":bridge:lan2",
		Subnet: pfx("10.61.2.0/24"), MTU: 1500}
	must(t, host.AddBridge(lan1))
	must(t, host.AddBridge(lan2))

	h1, r, h2 := newNode(t), newNode(t), newNode(t)
	h1eth := port("eth0", "lan1", leak+"h1e0", "10.61.1.2/24", "02:00:00:61:01:02", 1400)
	reth0 := port("eth0", "lan1", leak+"re0", "10.61.1.254/24", "02:00:00:61:01:fe", 1400)
	reth1 := port("eth1", "lan2", leak+"re1", "10.61.2.254/24", "02:00:00:61:02:fe", 1500)
	h2eth := port("eth0", "lan2", leak+"h2e0", "10.61.2.2/24", "02:00:00:61:02:02", 1500)
	must(t, host.AddPort(h1.n, lan1, h1eth))
	must(t, host.AddPort(r.n, lan1, reth0))
	must(t, host.AddPort(r.n, lan2, reth1))
	must(t, host.AddPort(h2.n, lan2, h2eth))

	must(t, SetupNode(h1.n, topology.Node{Name: "h1",
		Routes: []topology.Route{{To: pfx("0.0.0.0/0"), Via: ip("10.61.1.254")}}}))
	must(t, SetupNode(h2.n, topology.Node{Name: "h2",
		Routes: []topology.Route{{To: pfx("10.61.1.0/24"), Via: ip("10.61.2.254")}}}))
	must(t, SetupNode(r.n, topology.Node{Name: "r"}))
	must(t, setSysctls(r.n.ns, []topology.Sysctl{{Key: "net.ipv4.ip_forward", Value: "1"}})) // the router

	mustPing(t, h1.Handle, ip("10.61.1.1")) // the bridge's gateway address
	mustPing(t, h1.Handle, ip("10.61.2.2"))
	mustPing(t, h2.Handle, ip("10.61.1.2"))
	if from := tcpPeer(t, h2.Handle, ip("10.61.2.2"), h1.Handle); from != ip("10.61.1.2") {
		t.Errorf("tcp across the router arrived from %s, want 10.61.1.2", from)
	}

	for _, c := range []struct {
		n   node
		ifc topology.Interface
	}{{h1, h1eth}, {r, reth0}, {r, reth1}, {h2, h2eth}} {
		in := linkMust(t, c.n.n.handle, c.ifc.Name).Attrs()
		out := linkMust(t, host.handle, c.ifc.HostDevice).Attrs()
		if in.MTU != c.ifc.MTU || out.MTU != c.ifc.MTU {
			t.Errorf("%s: mtu node %d host %d, want %d", c.ifc.Alias, in.MTU, out.MTU, c.ifc.MTU)
		}
		if in.HardwareAddr.String() != c.ifc.MAC {
			t.Errorf("%s: mac %s, want %s", c.ifc.Alias, in.HardwareAddr, c.ifc.MAC)
		}
		if out.Alias != c.ifc.Alias || in.Alias != c.ifc.Alias {
			t.Errorf("%s: aliases host %q node %q", c.ifc.Alias, out.Alias, in.Alias)
		}
		br := linkMust(t, host.handle, map[string]string{"lan1": lan1.Device, "lan2": lan2.Device}[c.ifc.Bridge])
		if out.MasterIndex != br.Attrs().Index {
			t.Errorf("%s: host end not enslaved to %s", c.ifc.Alias, br.Attrs().Name)
		}
		noIPv6(t, c.n.n.handle, c.ifc.Name)
		noIPv6(t, host.handle, c.ifc.HostDevice)
	}
	noIPv6(t, host.handle, lan1.Device)
	// IPv6 is only not automatic: the node's sysctl brings its link-local
	// address back.
	must(t, setSysctls(h2.n.ns, []topology.Sysctl{{Key: "net.ipv6.conf.eth0.addr_gen_mode", Value: "0"}}))
	if addrs := ipv6Addrs(t, h2.n.handle, "eth0"); len(addrs) != 1 || !addrs[0].IP.IsLinkLocalUnicast() {
		t.Errorf("h2 eth0 after addr_gen_mode=0: IPv6 addresses %v, want one link-local", addrs)
	}
	br1 := linkMust(t, host.handle, lan1.Device).Attrs()
	if br1.Alias != lan1.Alias || br1.MTU != 1400 || br1.HardwareAddr.String() != lan1.MAC {
		t.Errorf("bridge %s: alias %q mtu %d mac %s", lan1.Device, br1.Alias, br1.MTU, br1.HardwareAddr)
	}

	// Sweep removes every aliased link (bridges and host ends); deleting a
	// missing bridge is success.
	must(t, host.SweepLinks("leolab:"+leak+":"))
	links, err := listLinks(host.handle)
	must(t, err)
	for _, l := range links {
		if l.Attrs().Name != "lo" {
			t.Errorf("left after sweep: %s (%q)", l.Attrs().Name, l.Attrs().Alias)
		}
	}
	must(t, host.DeleteBridge(lan1.Device))
	if _, err := h1.n.handle.LinkByName("eth0"); err == nil {
		t.Error("node end survived the sweep of its host end")
	}
}
