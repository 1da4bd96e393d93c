package bridge

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/internal/nsthread"
)

// Host is the network namespace that holds a lab's bridges and the host-side
// ends of its bridge ports: the host's own namespace, or for isolated labs a
// private lab namespace registered in /run/netns.
type Host struct {
	ns     netns.NsHandle
	handle *netlink.Handle
	raw    *nl.SocketHandle // for requests netlink.Handle has no call for
	path   string           // /run/netns/NAME for a lab namespace, "" for the host

	quietMu sync.Mutex
	quiet   map[string]int // bridge device: quiet start attempts, or quietOn (mldquiet.go)
}

// inNS runs fn in h's namespace: on the calling thread for the host's own,
// on a thread of its own inside a lab namespace.
func (h *Host) inNS(fn func() error) error {
	if h.path == "" {
		return fn()
	}
	return nsthread.Do(h.ns, fn)
}

// OpenHost returns a Host for the calling thread's network namespace.
func OpenHost() (*Host, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("open host netns: %w", err)
	}
	return newHost(ns, "")
}

// CreateLabNS creates a network namespace registered as /run/netns/NAME (like
// `ip netns add NAME`) and returns a Host in it. If NAME is already
// registered, the existing namespace is reused.
func CreateLabNS(name string) (*Host, error) {
	if h, err := OpenLabNS(name); err == nil {
		return h, nil
	}
	if err := createNamedNetns(name); err != nil {
		return nil, err
	}
	return OpenLabNS(name)
}

// OpenLabNS returns a Host in the lab namespace registered as NAME.
func OpenLabNS(name string) (*Host, error) {
	p := hostnames.NetnsPath(name)
	ns, err := netns.GetFromPath(p)
	if err != nil {
		return nil, fmt.Errorf("open lab netns %s: %w", name, err)
	}
	if !isNetns(int(ns)) {
		ns.Close()
		return nil, fmt.Errorf("open lab netns %s: %s is not a network namespace", name, p)
	}
	return newHost(ns, p)
}

// DeleteLabNS unregisters the lab namespace NAME; the kernel frees it once
// nothing else holds it. A missing registration is success.
func DeleteLabNS(name string) error {
	return UnregisterNetns(name)
}

func newHost(ns netns.NsHandle, path string) (*Host, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netlink handle in netns %s: %w", nsName(path), err)
	}
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		ns.Close()
		return nil, fmt.Errorf("netlink socket in netns %s: %w", nsName(path), err)
	}
	return &Host{ns: ns, handle: h, raw: &nl.SocketHandle{Socket: s}, path: path}, nil
}

// Path is the namespace's path: /run/netns/NAME for a lab namespace, or ""
// for the host's own namespace.
func (h *Host) Path() string { return h.path }

// Close releases the host's handles. It never deletes anything.
func (h *Host) Close() error {
	if h == nil {
		return nil
	}
	h.handle.Close()
	h.raw.Socket.Close()
	return h.ns.Close()
}

// NodeNS is the network namespace of one node, named by a path such as
// /proc/PID/ns/net or /run/netns/NAME. It is opened lazily and keeps one
// netlink handle until Close.
type NodeNS struct {
	Path   string
	ns     netns.NsHandle
	handle *netlink.Handle
}

// OpenNodeNS opens the node namespace at path.
func OpenNodeNS(path string) (*NodeNS, error) {
	n := &NodeNS{Path: path, ns: -1}
	if err := n.open(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *NodeNS) open() error {
	if n.handle != nil {
		return nil
	}
	ns, err := netns.GetFromPath(n.Path)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", n.Path, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		return fmt.Errorf("netlink handle in netns %s: %w", n.Path, err)
	}
	n.ns, n.handle = ns, h
	return nil
}

// Close releases the cached handle.
func (n *NodeNS) Close() error {
	if n == nil || n.handle == nil {
		return nil
	}
	n.handle.Close()
	n.handle = nil
	err := n.ns.Close()
	n.ns = -1
	return err
}

// openHandle opens a netlink handle in the namespace at path, or in the
// calling thread's namespace when path is "".
func openHandle(path string) (*netlink.Handle, error) {
	var ns netns.NsHandle
	var err error
	if path == "" {
		ns, err = netns.Get()
	} else {
		ns, err = netns.GetFromPath(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", nsName(path), err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in netns %s: %w", nsName(path), err)
	}
	return h, nil
}

func nsName(path string) string {
	if path == "" {
		return "host"
	}
	return path
}

// RegisterNetns makes the network namespace of process pid visible as
// /run/netns/NAME, so `ip netns exec NAME` works.
// Equivalent to: ip netns attach NAME PID
func RegisterNetns(name string, pid int) error {
	return registerNetnsPath(name, fmt.Sprintf("/proc/%d/ns/net", pid))
}

func registerNetnsPath(name, src string) error {
	if err := prepareNetnsDir(); err != nil {
		return err
	}
	target := hostnames.NetnsPath(name)
	f, err := os.OpenFile(target, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("register netns %s: %w", name, err)
	}
	f.Close()
	if err := unix.Mount(src, target, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(target)
		return fmt.Errorf("register netns %s: bind %s: %w", name, src, err)
	}
	return nil
}

// prepareNetnsDir makes /run/netns a shared mount point, as iproute2 does, so
// registrations made here propagate to mount namespaces created later and a
// later unmount propagates back.
func prepareNetnsDir() error {
	if err := os.MkdirAll(hostnames.NetnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", hostnames.NetnsDir, err)
	}
	err := unix.Mount("", hostnames.NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("make %s shared: %w", hostnames.NetnsDir, err)
	}
	// EINVAL: not a mount point yet; bind it on itself first, then share it.
	if err := unix.Mount(hostnames.NetnsDir, hostnames.NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on itself: %w", hostnames.NetnsDir, err)
	}
	if err := unix.Mount("", hostnames.NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make %s shared: %w", hostnames.NetnsDir, err)
	}
	return nil
}

// UnregisterNetns removes /run/netns/NAME (lazy unmount, then the file). A
// missing registration is success.
// Equivalent to: ip netns delete NAME
func UnregisterNetns(name string) error {
	target := hostnames.NetnsPath(name)
	if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unregister netns %s: unmount: %w", name, err)
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unregister netns %s: %w", name, err)
	}
	return nil
}

// createNamedNetns creates a fresh network namespace and registers it as
// NAME without moving the caller: the work runs on a throwaway OS thread.
func createNamedNetns(name string) error {
	// A stale file left by a crash (no namespace mounted on it) is removed
	// first so the O_EXCL create in registerNetnsPath succeeds.
	if err := UnregisterNetns(name); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: when this goroutine returns the
		// runtime discards the thread together with its changed namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("create netns %s: unshare: %w", name, err)
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		errc <- registerNetnsPath(name, src)
	}()
	return <-errc
}

// isNetns reports whether fd refers to a network namespace.
func isNetns(fd int) bool {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return false
	}
	if st.Type != unix.NSFS_MAGIC {
		return false
	}
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	return err == nil && t == unix.CLONE_NEWNET
}
