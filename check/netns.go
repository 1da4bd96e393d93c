package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"leolab/internal/nsthread"
	"leolab/internal/sysctl"
)

// handleAt opens a netlink handle in the namespace at path.
func handleAt(path string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in netns %s: %w", path, err)
	}
	return h, nil
}

// readSysctl reads a net.* sysctl as the namespace at path sees it (files
// under /proc/sys/net belong to the namespace of the thread opening them).
func readSysctl(path, key string) (string, error) {
	var v string
	err := nsthread.DoPath(path, func() error {
		var err error
		v, err = sysctl.Read(key) // its errors name the key
		return err
	})
	return v, err
}

func readSysctlInt(path, key string) (int, error) {
	v, err := readSysctl(path, key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("sysctl %s: %q is not a number", key, v)
	}
	return n, nil
}

// PingResult is the outcome of one ICMP echo request.
type PingResult struct {
	OK     bool
	Detail string // why not: timeout, or an ICMP error and who sent it
}

var echoID atomic.Uint32

// Ping sends ICMP echo requests to dst from inside the namespace at path,
// bound to dev when it is set, one a second, until a reply comes or tries
// requests went unanswered. It reports an ICMP error (unreachable, time
// exceeded) that came back instead.
// Equivalent to: ip netns exec NS ping -c 1 -W 1 [-I DEV] DST, repeated.
func Ping(ctx context.Context, path string, dst netip.Addr, dev string, tries int) (PingResult, error) {
	var fd int
	err := nsthread.DoPath(path, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err != nil {
			return fmt.Errorf("icmp socket: %w", err)
		}
		if dev != "" {
			if err := unix.BindToDevice(fd, dev); err != nil {
				unix.Close(fd)
				return fmt.Errorf("icmp socket: bind to %s: %w", dev, err)
			}
		}
		return nil
	})
	if err != nil {
		return PingResult{}, err
	}
	defer unix.Close(fd)
	// Receive only echo replies and the errors that answer a request.
	const allowed = 1<<0 | 1<<3 | 1<<11
	_ = unix.SetsockoptInt(fd, unix.SOL_RAW, unix.ICMP_FILTER, ^allowed)
	id := uint16(os.Getpid()) ^ uint16(echoID.Add(1)*7919)
	res := PingResult{Detail: "no reply"}
	for seq := 1; seq <= tries; seq++ {
		if err := ctx.Err(); err != nil {
			return res, nil
		}
		if err := sendEcho(fd, dst, id, uint16(seq)); err != nil {
			res.Detail = "send: " + errnoText(err)
			if err := sleepCtx(ctx, time.Second); err != nil {
				return res, nil
			}
			continue
		}
		if r := awaitEcho(ctx, fd, dst, id, uint16(seq), time.Second); r.OK {
			return r, nil
		} else if r.Detail != "" {
			res = r
		}
	}
	return res, nil
}

func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sendEcho(fd int, dst netip.Addr, id, seq uint16) error {
	msg := make([]byte, 16)
	msg[0] = 8 // echo request
	binary.BigEndian.PutUint16(msg[4:], id)
	binary.BigEndian.PutUint16(msg[6:], seq)
	copy(msg[8:], "leolab!!")
	binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	return unix.Sendto(fd, msg, 0, &unix.SockaddrInet4{Addr: dst.As4()})
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// awaitEcho reads until the reply to (id, seq) from dst, an ICMP error about
// that request, or wait has passed.
func awaitEcho(ctx context.Context, fd int, dst netip.Addr, id, seq uint16, wait time.Duration) PingResult {
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	buf := make([]byte, 1500)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return PingResult{}
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return PingResult{} // timeout
		}
		if r, ok := parseReply(buf[:n], from, dst, id, seq); ok {
			return r
		}
	}
}

// parseReply reads one received IPv4 packet: an echo reply to (id, seq)
// from dst, or an ICMP error quoting that request.
func parseReply(pkt []byte, from unix.Sockaddr, dst netip.Addr, id, seq uint16) (PingResult, bool) {
	if len(pkt) < 20 {
		return PingResult{}, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if len(pkt) < ihl+8 {
		return PingResult{}, false
	}
	icmp := pkt[ihl:]
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	if sa, ok := from.(*unix.SockaddrInet4); ok {
		src = netip.AddrFrom4(sa.Addr)
	}
	switch icmp[0] {
	case 0:
		ok := src == dst && binary.BigEndian.Uint16(icmp[4:]) == id && binary.BigEndian.Uint16(icmp[6:]) == seq
		return PingResult{OK: true}, ok
	case 3, 11:
		inner := icmp[8:] // the quoted IP header and the first 8 bytes of our request
		if len(inner) < 20 {
			return PingResult{}, false
		}
		qihl := int(inner[0]&0x0f) * 4
		if len(inner) < qihl+8 || netip.AddrFrom4([4]byte(inner[16:20])) != dst {
			return PingResult{}, false
		}
		q := inner[qihl:]
		if q[0] != 8 || binary.BigEndian.Uint16(q[4:]) != id || binary.BigEndian.Uint16(q[6:]) != seq {
			return PingResult{}, false
		}
		return PingResult{Detail: icmpErrorText(icmp[0], icmp[1]) + " from " + src.String()}, true
	}
	return PingResult{}, false
}

func icmpErrorText(typ, code byte) string {
	if typ == 11 {
		return "time to live exceeded"
	}
	switch code {
	case 0:
		return "network unreachable"
	case 1:
		return "host unreachable"
	case 3:
		return "port unreachable"
	case 9, 10, 13:
		return "administratively prohibited"
	}
	return fmt.Sprintf("destination unreachable (code %d)", code)
}
