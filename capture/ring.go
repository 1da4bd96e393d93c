//go:build linux

package capture

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"leolab/internal/nsthread"
)

// Ring geometry. A block must hold the largest frame the kernel hands over:
// veth passes GSO super-frames of up to 64 KiB as one packet.
const (
	blockSize     = 1 << 20
	frameSize     = 1 << 11 // only a unit of accounting for TPACKET_V3
	defaultNBlk   = 32
	retireTimeout = 10 * time.Millisecond // the kernel hands over a partly filled block after this
	blockHdrLen   = int(unsafe.Sizeof(unix.TpacketBlockDesc{}))
)

// ring is one AF_PACKET socket bound to one interface, with its
// TPACKET_V3 receive ring mapped into our memory.
type ring struct {
	fd      int
	mem     []byte
	nblocks int
	cur     int // next block to hand to the user
	ifindex int
	nsPath  string
	nsID    [2]uint64 // device and inode of the namespace when opened
	drops   uint64    // accumulated (PACKET_STATISTICS resets on read)
	seen    uint64
}

// openRing opens a capture socket on dev inside the namespace at nsPath
// ("" = the caller's namespace). The socket belongs to that namespace for
// its whole life, wherever it is read from.
func openRing(nsPath, dev string, snaplen, nblocks int) (*ring, error) {
	r := &ring{fd: -1, nsPath: nsPath, nblocks: nblocks}
	var err error
	if nsPath == "" {
		err = r.open(dev, snaplen)
	} else {
		err = inNetns(nsPath, &r.nsID, func() error { return r.open(dev, snaplen) })
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *ring) open(dev string, snaplen int) error {
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return fmt.Errorf("no interface %s", dev)
	}
	r.ifindex = ifc.Index
	// Protocol 0: the socket receives nothing until bind, so no packet of
	// another interface slips in before the ring is ready.
	r.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("packet socket: TPACKET_V3: %w", err)
	}
	// A one-instruction classic BPF program "return snaplen" makes the
	// kernel copy at most snaplen bytes of each packet into the ring.
	prog := []unix.SockFilter{{Code: 0x06, K: uint32(snaplen)}} // BPF_RET|BPF_K
	fprog := unix.SockFprog{Len: 1, Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(r.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("packet socket: snaplen filter: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size:     blockSize,
		Block_nr:       uint32(r.nblocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(r.nblocks * (blockSize / frameSize)),
		Retire_blk_tov: uint32(retireTimeout / time.Millisecond),
	}
	if err := unix.SetsockoptTpacketReq3(r.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("packet socket: rx ring: %w", err)
	}
	r.mem, err = unix.Mmap(r.fd, 0, blockSize*r.nblocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED)
	if err != nil {
		// MAP_LOCKED can exceed RLIMIT_MEMLOCK; the ring works unlocked too.
		r.mem, err = unix.Mmap(r.fd, 0, blockSize*r.nblocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("packet socket: map ring: %w", err)
		}
	}
	// Promiscuous while the socket is open, as tcpdump's are: a bridge
	// device passes up the frames it forwards between ports only then. The
	// kernel counts such requests per socket and drops ours when it closes.
	mreq := unix.PacketMreq{Ifindex: int32(r.ifindex), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(r.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fmt.Errorf("packet socket: promiscuous %s: %w", dev, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: r.ifindex}
	if err := unix.Bind(r.fd, sa); err != nil {
		return fmt.Errorf("packet socket: bind %s: %w", dev, err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// inNetns runs fn on a throwaway OS thread inside the namespace at path
// and records the namespace's identity in id.
func inNetns(path string, id *[2]uint64, fn func() error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", path, err)
	}
	defer ns.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		return fmt.Errorf("stat netns %s: %w", path, err)
	}
	*id = [2]uint64{st.Dev, st.Ino}
	return nsthread.Do(ns, fn)
}

func (r *ring) close() {
	if r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// blockHdr is the kernel's descriptor of block i.
func (r *ring) blockHdr(i int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&r.mem[i*blockSize+8]))
}

// next returns the used bytes of the next block if the kernel has handed
// it over, else nil. The caller must call release before the next call.
func (r *ring) next() []byte {
	h := r.blockHdr(r.cur)
	if atomic.LoadUint32(&h.Block_status)&unix.TP_STATUS_USER == 0 {
		return nil
	}
	base := r.cur * blockSize
	n := int(h.Blk_len)
	if n < blockHdrLen || n > blockSize {
		n = blockSize
	}
	return r.mem[base : base+n]
}

// stop detaches the socket from its interface. Detaching waits for the
// kernel to finish every packet it was writing into the ring, so after
// stop the ring holds everything captured and nothing changes under us.
func (r *ring) stop() {
	unix.Bind(r.fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: 0})
}

// partial returns the block the kernel was filling when stop was called,
// if it holds packets (only valid after stop, and after a drain). The
// block may have been handed over since that drain (its retire timeout
// fired in between): it is returned all the same, or its packets would be
// lost.
func (r *ring) partial() []byte {
	h := r.blockHdr(r.cur)
	if atomic.LoadUint32(&h.Num_pkts) == 0 {
		return nil
	}
	base := r.cur * blockSize
	n := min(max(int(h.Blk_len), blockHdrLen), blockSize)
	return r.mem[base : base+n]
}

// release gives the current block back to the kernel.
func (r *ring) release() {
	atomic.StoreUint32(&r.blockHdr(r.cur).Block_status, unix.TP_STATUS_KERNEL)
	r.cur = (r.cur + 1) % r.nblocks
}

// wait blocks until the kernel may have handed over a block, the socket
// reports an error, or timeout passes.
func (r *ring) wait(timeout time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN | unix.POLLERR}}
	_, err := unix.Poll(fds, int(timeout/time.Millisecond))
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("poll: %w", err)
	}
	if fds[0].Revents&unix.POLLERR != 0 {
		// The kernel sets ENETDOWN when the interface goes down (and
		// re-arms the socket when it comes back); reading SO_ERROR clears it.
		unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	}
	return nil
}

// gone says why the endpoint can no longer deliver packets, or "".
func (r *ring) gone() string {
	if r.nsPath != "" {
		var st unix.Stat_t
		if err := unix.Stat(r.nsPath, &st); err != nil || [2]uint64{st.Dev, st.Ino} != r.nsID {
			return "its namespace went away"
		}
	}
	// Interface ioctls on a socket act in the socket's namespace.
	ifr, _ := unix.NewIfreq("")
	ifr.SetUint32(uint32(r.ifindex))
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFNAME, ifr); errors.Is(err, unix.ENODEV) {
		return "its interface went away"
	}
	return ""
}

// stats reads the kernel's counters (which reset on every read) and
// returns the totals since the socket was opened: packets the socket saw
// and packets it dropped because the ring was full.
func (r *ring) stats() (seen, drops uint64) {
	if s, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		r.seen += uint64(s.Packets)
		r.drops += uint64(s.Drops)
	}
	return r.seen, r.drops
}
