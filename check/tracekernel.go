package check

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernelWorld reads the nodes of a running lab over netlink, one handle per
// node namespace, opened on first use.
type kernelWorld struct {
	ctx   context.Context
	lab   *Lab
	views map[string]*kernelView
}

func newKernelWorld(ctx context.Context, lab *Lab) *kernelWorld {
	return &kernelWorld{ctx: ctx, lab: lab, views: map[string]*kernelView{}}
}

func (w *kernelWorld) view(node string) (nodeView, error) {
	if v, ok := w.views[node]; ok {
		return v, nil
	}
	v, err := openKernelView(w.ctx, w.lab.Netns(node))
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node, err)
	}
	w.views[node] = v
	return v, nil
}

func (w *kernelWorld) close() {
	for _, v := range w.views {
		v.h.Close()
	}
}

// kernelView is one node's links, addresses and main routing table, read
// once; route lookups and neighbour entries are asked for each time.
type kernelView struct {
	ctx    context.Context
	path   string
	h      *netlink.Handle
	links  map[string]netlink.Link
	names  map[int]string
	addrs  map[string][]netip.Prefix
	routes []netlink.Route
}

// openKernelView reads a node's state.
// Equivalent to: ip netns exec NS sh -c 'ip link; ip -4 addr; ip route'
func openKernelView(ctx context.Context, path string) (*kernelView, error) {
	h, err := handleAt(path)
	if err != nil {
		return nil, err
	}
	v := &kernelView{ctx: ctx, path: path, h: h, links: map[string]netlink.Link{}, names: map[int]string{}, addrs: map[string][]netip.Prefix{}}
	links, err := h.LinkList()
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		v.links[l.Attrs().Name] = l
		v.names[l.Attrs().Index] = l.Attrs().Name
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		name := v.names[a.LinkIndex]
		v.addrs[name] = append(v.addrs[name], ipnetPrefix(a.IPNet))
	}
	v.routes, err = h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("list routes: %w", err)
	}
	return v, nil
}

// Lookup asks the kernel which route a packet to dst takes.
// Equivalent to: ip route get DST
func (v *kernelView) Lookup(dst netip.Addr) (lookup, error) {
	routes, err := v.h.RouteGet(net.IP(dst.AsSlice()))
	l := lookup{Found: true, Line: v.matching(dst)}
	switch {
	case errors.Is(err, unix.ENETUNREACH):
		return lookup{}, nil
	case errors.Is(err, unix.EHOSTUNREACH):
		l.Kind = "unreachable"
		return l, nil
	case errors.Is(err, unix.EACCES):
		l.Kind = "prohibit"
		return l, nil
	case errors.Is(err, unix.EINVAL):
		l.Kind = "blackhole"
		return l, nil
	case err != nil:
		return lookup{}, fmt.Errorf("route get %s: %w", dst, err)
	case len(routes) == 0:
		return lookup{}, nil
	}
	r := routes[0]
	if r.Type != 0 && r.Type != unix.RTN_UNICAST {
		l.Kind = routeTypeName(r.Type)
	}
	l.Iface = v.names[r.LinkIndex]
	if r.Gw != nil {
		l.Gw, _ = netip.AddrFromSlice(r.Gw.To4())
	}
	if r.Src != nil {
		l.Src, _ = netip.AddrFromSlice(r.Src.To4())
	}
	return l, nil
}

// matching is the main table's most specific route containing dst (the
// one RouteGet used, unless policy routing chose another table).
func (v *kernelView) matching(dst netip.Addr) string {
	best := -1
	for i, r := range v.routes {
		p := routeDst(r)
		if !p.Contains(dst) {
			continue
		}
		if best < 0 || p.Bits() > routeDst(v.routes[best]).Bits() ||
			(p.Bits() == routeDst(v.routes[best]).Bits() && r.Priority < v.routes[best].Priority) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return formatRoute(v.routes[best], v.names)
}

func (v *kernelView) Iface(name string) (ifaceInfo, bool) {
	l, ok := v.links[name]
	if !ok {
		return ifaceInfo{}, false
	}
	a := l.Attrs()
	info := ifaceInfo{
		Up:      a.Flags&net.FlagUp != 0,
		Carrier: a.RawFlags&unix.IFF_LOWER_UP != 0,
		Addrs:   v.addrs[name],
	}
	qdiscs, _ := v.h.QdiscList(l)
	for _, q := range qdiscs {
		if n, ok := q.(*netlink.Netem); ok && n.Loss >= math.MaxUint32-1 {
			info.Loss100 = true
		}
	}
	return info, true
}

func (v *kernelView) Local(a netip.Addr) bool {
	for _, list := range v.addrs {
		for _, p := range list {
			if p.Addr() == a || (p.Addr().IsLoopback() && p.Contains(a)) {
				return true
			}
		}
	}
	return false
}

// usableNeigh are neighbour states in which the kernel sends to the entry.
const usableNeigh = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY | netlink.NUD_PROBE |
	netlink.NUD_PERMANENT | netlink.NUD_NOARP

// Neighbour reads the neighbour entry of a on iface; without a usable one,
// it pings a out of iface (which makes the kernel send ARP requests) and
// waits until the entry settles.
// Equivalent to: ip neigh show dev IFACE A; ping -I IFACE A
func (v *kernelView) Neighbour(iface string, a netip.Addr) (bool, string, error) {
	link, ok := v.links[iface]
	if !ok {
		return false, "", fmt.Errorf("no interface %s", iface)
	}
	state := v.neighState(link.Attrs().Index, a)
	if state&usableNeigh != 0 {
		return true, neighName(state), nil
	}
	res, err := Ping(v.ctx, v.path, a, iface, 1)
	if err != nil {
		return false, "", err
	}
	if res.OK {
		return true, "REACHABLE", nil
	}
	// An unanswered request stays INCOMPLETE for up to mcast_solicit (3)
	// retransmissions a second apart, then turns FAILED.
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); {
		state = v.neighState(link.Attrs().Index, a)
		if state&usableNeigh != 0 {
			return true, neighName(state), nil
		}
		if state != netlink.NUD_INCOMPLETE {
			break
		}
		if sleepCtx(v.ctx, 100*time.Millisecond) != nil {
			break
		}
	}
	return false, neighName(state), nil
}

func (v *kernelView) neighState(index int, a netip.Addr) int {
	neighs, err := v.h.NeighList(index, netlink.FAMILY_V4)
	if err != nil {
		return 0
	}
	for _, n := range neighs {
		if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && ip == a {
			return n.State
		}
	}
	return 0
}

func neighName(state int) string {
	switch state {
	case 0:
		return "missing"
	case netlink.NUD_INCOMPLETE:
		return "INCOMPLETE"
	case netlink.NUD_FAILED:
		return "FAILED"
	case netlink.NUD_REACHABLE:
		return "REACHABLE"
	case netlink.NUD_STALE:
		return "STALE"
	case netlink.NUD_DELAY:
		return "DELAY"
	case netlink.NUD_PROBE:
		return "PROBE"
	case netlink.NUD_PERMANENT:
		return "PERMANENT"
	case netlink.NUD_NOARP:
		return "NOARP"
	}
	return fmt.Sprintf("state %#x", state)
}

func (v *kernelView) Forwarding() (bool, error) {
	n, err := readSysctlInt(v.path, "net.ipv4.ip_forward")
	return n == 1, err
}

func (v *kernelView) DefaultTTL() (int, error) {
	return readSysctlInt(v.path, "net.ipv4.ip_default_ttl")
}

// RunTrace traces a packet from node from to dst through the lab's kernel
// state, both ways, and confirms with a real ping.
func RunTrace(ctx context.Context, lab *Lab, from string, dst netip.Addr) (*Trace, error) {
	if lab.node(from) == nil {
		return nil, fmt.Errorf("no node %s in lab %s", from, lab.Plan.Name)
	}
	w := newKernelWorld(ctx, lab)
	defer w.close()
	t := &tracer{plan: lab.Plan, w: w}
	tr := t.trace(from, dst)
	ping, err := Ping(ctx, lab.Netns(from), dst, "", 2)
	if err != nil {
		return nil, err
	}
	tr.confirm(from, ping)
	return &tr, nil
}
