//go:build linux

package bridge

import (
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/nsthread"
	"leolab/topology"
)

// A dual-stack bridge's quiet start: while ports are added the bridge
// believes in an MLD querier, so IPv6 multicast to a group nobody joined
// reaches no other port, while neighbour discovery between the nodes still
// works (their solicited-node groups were reported, MLDv1); EndQuietStart
// leaves the bridge believing in it for at most 1 s more, its interval
// setting back at the kernel's default. An IPv4-only bridge never starts.
func TestQuietStart(t *testing.T) {
	host := enterHost(t)
	lan := topology.Bridge{Name: "lan", Device: leak + "brq", Alias: "leolab:" + leak + ":bridge:lanq", MAC: "02:00:00:61:08:01",
		Subnet: pfx("10.61.8.0/24"), Gateway: ip("10.61.8.1"), MTU: 1500,
		Subnet6: pfx("fd61:8::/64"), Gateway6: ip("fd61:8::1")}
	must(t, host.AddBridge(lan))
	a, b := newNode(t), newNode(t)
	for i, n := range []node{a, b} {
		must(t, PrepareIPv6(n.n))
		if v, err := sysctlIn(n.n, "net.ipv6.conf.all.force_mld_version"); err != nil || v != "1" {
			t.Fatalf("force_mld_version = %q, %v; want 1 during the deploy", v, err)
		}
		eth := port("eth0", "lan", leak+"q"+strconv.Itoa(i), "10.61.8."+strconv.Itoa(i+2)+"/24", "02:00:00:61:08:0"+strconv.Itoa(i+2), 1500)
		eth.IPv6 = pfx("fd61:8::" + strconv.Itoa(i+2) + "/64")
		must(t, host.AddPort(n.n, lan, eth))
	}
	// Each port added tries once; the bridge may not have been ready for
	// the first tries (its carrier comes with its first port).
	for try := 0; try < 100 && host.quiet[lan.Device] != quietOn; try++ {
		host.quiet[lan.Device] = 0
		must(t, host.startQuiet(lan))
		time.Sleep(10 * time.Millisecond)
	}
	left, err := host.querierTimer(lan.Device)
	must(t, err)
	if left <= endInterval {
		t.Fatalf("during the quiet start the bridge believes in a querier for %d/100 s more, want > %d", left, endInterval)
	}
	wantQuerierInterval(t, host, lan.Device)

	// Neighbour discovery across the bridge: a's solicitation goes to b's
	// solicited-node group, which b reported.
	if got := tcpPeer(t, b.NS.Handle, ip("fd61:8::3"), a.NS.Handle); got != ip("fd61:8::2") {
		t.Errorf("b saw a as %s, want fd61:8::2", got)
	}
	before := mcastIn(t, b.n)
	sendMulticast(t, a.n, "ff02::1:ff00:1234", 10)
	if got := mcastIn(t, b.n) - before; got != 0 {
		t.Errorf("during the quiet start b received %d multicast packets for a group nobody joined, want 0", got)
	}

	must(t, host.EndQuietStart(lan))
	left, err = host.querierTimer(lan.Device)
	must(t, err)
	if left > endInterval {
		t.Errorf("after EndQuietStart the bridge believes in a querier for %d/100 s more, want <= %d", left, endInterval)
	}
	wantQuerierInterval(t, host, lan.Device)
	must(t, host.EndQuietStart(lan)) // once only: nothing more is sent

	v4 := topology.Bridge{Name: "v4", Device: leak + "brq4", Alias: "leolab:" + leak + ":bridge:v4q",
		Subnet: pfx("10.61.9.0/24"), Gateway: ip("10.61.9.1"), MTU: 1500}
	must(t, host.AddBridge(v4))
	c := newNode(t)
	must(t, host.AddPort(c.n, v4, port("eth0", "v4", leak+"q4", "10.61.9.2/24", "02:00:00:61:09:02", 1500)))
	if _, ok := host.quiet[v4.Device]; ok {
		t.Errorf("an IPv4-only bridge got a quiet start")
	}
}

// wantQuerierInterval fails unless dev's "other querier present" interval
// setting is the kernel's default.
func wantQuerierInterval(t *testing.T, h *Host, dev string) {
	t.Helper()
	v, err := h.bridgeInfo(dev, unix.IFLA_BR_MCAST_QUERIER_INTVL)
	must(t, err)
	if len(v) != 8 || binary.NativeEndian.Uint64(v) != defaultQuerierInterval {
		t.Errorf("querier interval setting %v, want %d", v, defaultQuerierInterval)
	}
}

// mcastIn is the IPv6 multicast packets n's stack has received.
func mcastIn(t *testing.T, n *NodeNS) int {
	t.Helper()
	var count int
	must(t, nsthread.Do(n.ns, func() error {
		data, err := os.ReadFile("/proc/net/snmp6")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "Ip6InMcastPkts" {
				count, err = strconv.Atoi(f[1])
				return err
			}
		}
		return nil
	}))
	return count
}

// sendMulticast sends count UDP datagrams from n's eth0 to group.
func sendMulticast(t *testing.T, n *NodeNS, group string, count int) {
	t.Helper()
	must(t, nsthread.Do(n.ns, func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		conn, err := net.DialUDP("udp6", nil, &net.UDPAddr{IP: net.ParseIP(group), Port: 9, Zone: ifc.Name})
		if err != nil {
			return err
		}
		defer conn.Close()
		for range count {
			if _, err := conn.Write([]byte("x")); err != nil {
				return err
			}
		}
		return nil
	}))
}
