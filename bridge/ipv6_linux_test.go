//go:build linux

package bridge

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"leolab/internal/nsthread"
	"leolab/internal/sysctl"
	"leolab/topology"
)

// A dual-stack bridge port and link: each interface that carries IPv6 has
// its address and its EUI-64 link-local address at once (no duplicate
// address detection: never tentative), sends no router solicitations and
// keeps its addresses across down/up; the bridge has ::1 and takes no
// router advertisements; IPv6 routes go in; an IPv4-only interface still
// has no IPv6 at all.
func TestDualStackAddresses(t *testing.T) {
	host := enterHost(t)
	lan := topology.Bridge{Name: "lan", Device: leak + "br6", Alias: "leolab:" + leak + ":bridge:lan", MAC: "02:00:00:61:06:01",
		Subnet: pfx("10.61.6.0/24"), Gateway: ip("10.61.6.1"), MTU: 1500,
		Subnet6: pfx("fd61:6::/64"), Gateway6: ip("fd61:6::1")}
	must(t, host.AddBridge(lan))
	a, b := newNode(t), newNode(t)
	must(t, PrepareIPv6(a.n))
	must(t, PrepareIPv6(b.n))
	aeth := port("eth0", "lan", leak+"a6e0", "10.61.6.2/24", "02:00:00:61:06:02", 1500)
	aeth.IPv6 = pfx("fd61:6::2/64")
	beth := port("eth0", "lan", leak+"b6e0", "10.61.6.3/24", "02:00:00:61:06:03", 1500)
	must(t, host.AddPort(a.n, lan, aeth))
	must(t, host.AddPort(b.n, lan, beth)) // IPv4 only
	la := topology.Interface{Name: "l0", MAC: "02:00:00:61:07:01", IPv6: pfx("fd61:7::/127"), Alias: "leolab:" + leak + ":a:l0"}
	lb := topology.Interface{Name: "l0", MAC: "02:00:00:61:07:02", IPv6: pfx("fd61:7::1/127"), Alias: "leolab:" + leak + ":b:l0"}
	must(t, AddLink(a.n, b.n, topology.Link{MTU: 1500}, la, lb))
	must(t, SetupNode(a.n, topology.Node{Name: "a", Routes: []topology.Route{
		{To: pfx("::/0"), Via: ip("fd61:6::1")}, {To: pfx("fd61:99::/64"), Via: ip("fd61:7::1")}}}))

	wantIPv6(t, a.n.handle, "eth0", "fd61:6::2/64", "fe80::ff:fe61:602/64")
	wantIPv6(t, a.n.handle, "l0", "fd61:7::/127", "fe80::ff:fe61:701/64")
	wantIPv6(t, b.n.handle, "l0", "fd61:7::1/127", "fe80::ff:fe61:702/64")
	wantIPv6(t, host.handle, lan.Device, "fd61:6::1/64", "fe80::ff:fe61:601/64")
	noIPv6(t, b.n.handle, "eth0")
	noIPv6(t, host.handle, aeth.HostDevice)

	routes, err := a.n.handle.RouteList(nil, netlink.FAMILY_V6)
	must(t, err)
	var got []string
	for _, r := range routes {
		if r.Gw != nil {
			dst := "default"
			if r.Dst != nil {
				dst = r.Dst.String()
			}
			got = append(got, dst+" via "+r.Gw.String())
		}
	}
	if strings.Join(got, ", ") != "fd61:99::/64 via fd61:7::1, ::/0 via fd61:6::1" {
		t.Errorf("a's IPv6 routes: %v", got)
	}
	for _, k := range []string{"router_solicitations", "keep_addr_on_down"} {
		v, err := sysctlIn(a.n, "net.ipv6.conf.eth0."+k)
		must(t, err)
		if want := map[string]string{"router_solicitations": "0", "keep_addr_on_down": "1"}[k]; v != want {
			t.Errorf("a eth0 %s = %s, want %s", k, v, want)
		}
	}
	if v, _ := os.ReadFile("/proc/sys/net/ipv6/conf/" + lan.Device + "/accept_ra"); strings.TrimSpace(string(v)) != "0" {
		t.Errorf("bridge accept_ra = %q, want 0", v)
	}
	// Down and up again: the global address stays (keep_addr_on_down),
	// the kernel drops the link-local one, RestoreIPv6 puts it back.
	must(t, SetLinkUp(a.n.Path, "l0", false))
	must(t, SetLinkUp(a.n.Path, "l0", true))
	wantIPv6(t, a.n.handle, "l0", "fd61:7::/127")
	must(t, RestoreIPv6(a.n.Path, la))
	wantIPv6(t, a.n.handle, "l0", "fd61:7::/127", "fe80::ff:fe61:701/64")
}

func TestLinkLocal(t *testing.T) {
	mac, _ := net.ParseMAC("02:eb:8b:7c:f7:9f")
	if got := LinkLocal(mac).String(); got != "fe80::eb:8bff:fe7c:f79f" {
		t.Errorf("LinkLocal = %s", got)
	}
	if got := LinkLocal(nil).String(); got != "fe80::1" {
		t.Errorf("LinkLocal(nil) = %s", got)
	}
}

// wantIPv6 fails unless name has exactly the IPv6 addresses want, none of
// them tentative (no duplicate address detection).
func wantIPv6(t *testing.T, h *netlink.Handle, name string, want ...string) {
	t.Helper()
	var got []string
	for _, a := range ipv6Addrs(t, h, name) {
		got = append(got, a.IPNet.String())
		if a.Flags&unix.IFA_F_TENTATIVE != 0 || a.Flags&unix.IFA_F_NODAD == 0 {
			t.Errorf("%s %s: flags %#x, want nodad and not tentative", name, a.IPNet, a.Flags)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: IPv6 addresses %v, want %v", name, got, want)
	}
}

func sysctlIn(n *NodeNS, key string) (string, error) {
	var v string
	err := nsthread.Do(n.ns, func() error {
		var err error
		v, err = sysctl.Read(key)
		return err
	})
	return v, err
}
