//go:build linux

package bridge

import (
	"encoding/binary"

	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"leolab/internal/nstest"
	"leolab/internal/nsthread"
	"leolab/internal/sysctl"
	"leolab/topology"
)

// Everything the kernel tests create carries this in its name, alias,
// chain or /run/netns entry, so nstest.CheckLeaks can find leftovers.
const leak = "lbt"

// ping sends one ICMP echo from inside ns to dst over a raw socket and
// returns the round-trip time. The 2s receive timeout only bounds a hang;
// no test asserts an upper bound on time.
func ping(ns netns.NsHandle, dst netip.Addr, seq int) (time.Duration, error) {
	var rtt time.Duration
	err := nstest.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err != nil {
			return fmt.Errorf("icmp socket: %w", err)
		}
		defer unix.Close(fd)
		tv := unix.Timeval{Sec: 2}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		id := uint16(os.Getpid()) ^ uint16(seq<<8)
		pkt := echoRequest(id, uint16(seq))
		sa := &unix.SockaddrInet4{Addr: dst.As4()}
		start := time.Now()
		if err := unix.Sendto(fd, pkt, 0, sa); err != nil {
			return fmt.Errorf("send echo to %s: %w", dst, err)
		}
		buf := make([]byte, 1500)
		for {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return fmt.Errorf("no echo reply from %s: %w", dst, err)
			}
			f, ok := from.(*unix.SockaddrInet4)
			if !ok || netip.AddrFrom4(f.Addr) != dst || n < 28 {
				continue
			}
			icmp := buf[int(buf[0]&0x0f)*4 : n]
			if icmp[0] == 0 && binary.BigEndian.Uint16(icmp[4:]) == id && binary.BigEndian.Uint16(icmp[6:]) == uint16(seq) {
				rtt = time.Since(start)
				return nil
			}
			if icmp[0] == 3 {
				return fmt.Errorf("%s unreachable", dst)
			}
		}
	})
	return rtt, err
}

func echoRequest(id, seq uint16) []byte {
	p := make([]byte, 8+32)
	p[0] = 8 // echo request
	binary.BigEndian.PutUint16(p[4:], id)
	binary.BigEndian.PutUint16(p[6:], seq)
	copy(p[8:], "leolab bridge test payload......")
	var sum uint32
	for i := 0; i < len(p); i += 2 {
		sum += uint32(p[i])<<8 | uint32(p[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[2:], ^uint16(sum))
	return p
}

// mustPing pings until one reply arrives (a few tries cover neighbour
// resolution and a link coming back up) and returns the best RTT seen.
func mustPing(t *testing.T, ns netns.NsHandle, dst netip.Addr) time.Duration {
	t.Helper()
	var last error
	for seq := 1; seq <= 5; seq++ {
		rtt, err := ping(ns, dst, seq)
		if err == nil {
			return rtt
		}
		last = err
	}
	t.Fatalf("ping %s: %v", dst, last)
	return 0
}

// tcpPeer makes a TCP connection from client ns to a listener in server ns
// on addr, echoes a message through it, and returns the client address the
// server saw.
func tcpPeer(t *testing.T, server netns.NsHandle, addr netip.Addr, client netns.NsHandle) netip.Addr {
	t.Helper()
	var ln net.Listener
	err := nstest.Do(server, func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(addr, 0).String())
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	defer ln.Close()
	seen := make(chan netip.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(seen)
			return
		}
		defer c.Close()
		seen <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
		io.Copy(c, c)
	}()
	var conn net.Conn
	err = nstest.Do(client, func() (err error) {
		conn, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("tcp connect to %s: %v", ln.Addr(), err)
	}
	defer conn.Close()
	msg := []byte("hello through the lab")
	if _, err := conn.Write(msg); err != nil {
		t.Fatalf("tcp write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != string(msg) {
		t.Fatalf("tcp echo: got %q, %v", got, err)
	}
	return <-seen
}

// node is a throwaway node namespace with its NodeNS.
type node struct {
	nstest.NS
	n *NodeNS
}

func newNode(t *testing.T) node {
	t.Helper()
	ns := nstest.New(t)
	n, err := OpenNodeNS(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after nstest.New's cleanup, so it runs before it.
	t.Cleanup(func() { n.Close() })
	return node{NS: ns, n: n}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func port(name, bridge, hostDev, addr, mac string, mtu int) topology.Interface {
	var p netip.Prefix
	if addr != "" {
		p = pfx(addr)
	}
	return topology.Interface{Name: name, Bridge: bridge, Link: -1, IPv4: p, MAC: mac, MTU: mtu,
		HostDevice: hostDev, Alias: "leolab:" + leak + ":" + hostDev}
}

func linkMust(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	return l
}

func ipv6Addrs(t *testing.T, h *netlink.Handle, name string) []netlink.Addr {
	t.Helper()
	addrs, err := h.AddrList(linkMust(t, h, name), netlink.FAMILY_V6)
	if err != nil {
		t.Fatalf("list IPv6 addresses of %s: %v", name, err)
	}
	return addrs
}

// noIPv6 fails unless link name has no IPv6 address: no automatic
// link-local, so no IPv6 chatter flooded through the lab's bridges.
func noIPv6(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	if addrs := ipv6Addrs(t, h, name); len(addrs) != 0 {
		t.Errorf("%s has IPv6 addresses %v, want none", name, addrs)
	}
}

// enterHost moves the test into a throwaway namespace (nstest.Enter) that
// stands in for the host, and opens it as one; it is closed when the test
// ends.
func enterHost(t *testing.T) *Host {
	t.Helper()
	nstest.Enter(t, leak)
	host, err := OpenHost()
	must(t, err)
	t.Cleanup(func() { host.Close() })
	return host
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// transfer sends size bytes over TCP from client ns to a sink in server ns
// on addr and returns how long the sink took to receive them all.
func transfer(t *testing.T, server netns.NsHandle, addr netip.Addr, client netns.NsHandle, size int) time.Duration {
	t.Helper()
	var ln net.Listener
	must(t, nstest.Do(server, func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(addr, 0).String())
		return err
	}))
	defer ln.Close()
	var conn net.Conn
	must(t, nstest.Do(client, func() (err error) {
		conn, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		return err
	}))
	defer conn.Close()
	srv, err := ln.Accept()
	must(t, err)
	defer srv.Close()
	start := time.Now()
	go conn.Write(make([]byte, size))
	n, err := io.CopyN(io.Discard, srv, int64(size))
	if err != nil {
		t.Fatalf("received %d of %d bytes: %v", n, size, err)
	}
	return time.Since(start)
}

// setSysctls writes net.* sysctls for the namespace ns. /proc/sys/net shows
// the namespace of the thread that opens it, so the writes run on a
// throwaway thread moved into ns.
func setSysctls(ns netns.NsHandle, sysctls []topology.Sysctl) error {
	if len(sysctls) == 0 {
		return nil
	}
	for _, s := range sysctls {
		if !strings.HasPrefix(s.Key, "net.") {
			return fmt.Errorf("sysctl %s: only net.* is per node", s.Key)
		}
	}
	return nsthread.Do(ns, func() error {
		for _, s := range sysctls {
			if err := sysctl.Write(s.Key, s.Value); err != nil {
				return err
			}
		}
		return nil
	})
}
