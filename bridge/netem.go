package bridge

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"leolab/topology"
)

// withLink runs fn on device dev of the namespace at nsPath ("" is the
// calling thread's namespace), with what failed named in the error.
func withLink(nsPath, dev, what string, fn func(*netlink.Handle, netlink.Link) error) error {
	h, err := openHandle(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("%s: find %s in %s: %w", what, dev, nsName(nsPath), err)
	}
	if err := fn(h, link); err != nil {
		return fmt.Errorf("%s on %s in %s: %w", what, dev, nsName(nsPath), err)
	}
	return nil
}

// ApplyNetem sets the impairments n on device dev in the namespace at nsPath
// ("" is the calling thread's namespace), replacing any root qdisc. A nil or
// zero n clears them. When the kernel refuses n, dev keeps the impairments
// it had.
// Equivalent to: tc qdisc replace dev DEV root netem delay D J loss L% rate R …
func ApplyNetem(nsPath, dev string, n *topology.Netem) error {
	return withLink(nsPath, dev, "netem", func(h *netlink.Handle, link netlink.Link) error {
		old, err := showNetem(h, link)
		if err != nil {
			return err
		}
		if err := applyNetem(h, link, n); err != nil {
			if rerr := applyNetem(h, link, old); rerr != nil {
				return fmt.Errorf("%w (and restoring the previous impairment failed: %v)", err, rerr)
			}
			return err
		}
		return nil
	})
}

// ClearNetem removes the netem qdisc of dev, restoring the default qdisc. No
// netem is success.
// Equivalent to: tc qdisc del dev DEV root
func ClearNetem(nsPath, dev string) error {
	return withLink(nsPath, dev, "clear netem", func(h *netlink.Handle, link netlink.Link) error {
		return clearNetem(h, link)
	})
}

// ShowNetem returns the impairments on dev, or nil when it has no netem
// root qdisc. Percentages and times are rounded to what the kernel stores.
// Equivalent to: tc qdisc show dev DEV
func ShowNetem(nsPath, dev string) (*topology.Netem, error) {
	var n *topology.Netem
	err := withLink(nsPath, dev, "show netem", func(h *netlink.Handle, link netlink.Link) error {
		var err error
		n, err = showNetem(h, link)
		return err
	})
	return n, err
}

// SetLinkUp brings dev in the namespace at nsPath up or down.
// Equivalent to: ip link set DEV up|down
func SetLinkUp(nsPath, dev string, up bool) error {
	what := "set down"
	if up {
		what = "set up"
	}
	return withLink(nsPath, dev, what, func(h *netlink.Handle, link netlink.Link) error {
		if up {
			return h.LinkSetUp(link)
		}
		return h.LinkSetDown(link)
	})
}

// ErrNetemUnsupported is returned (wrapped) when the kernel has no netem
// qdisc (CONFIG_NET_SCH_NETEM); a rate alone still works through tbf.
var ErrNetemUnsupported = errors.New("netem qdisc not available in this kernel (CONFIG_NET_SCH_NETEM)")

var (
	rootHandle  = netlink.MakeHandle(1, 0)
	netemHandle = netlink.MakeHandle(10, 0)
)

// applyNetem installs n as: tbf at the root when a rate is set, with netem
// as its child when anything else is set too; netem at the root otherwise.
// The old tree is removed first because the kernel cannot replace a root
// qdisc with one of another kind in place.
func applyNetem(h *netlink.Handle, link netlink.Link, n *topology.Netem) error {
	if err := clearNetem(h, link); err != nil {
		return err
	}
	if n == nil || *n == (topology.Netem{}) {
		return nil
	}
	idx := link.Attrs().Index
	rest := *n
	rest.RateBits = 0
	netemParent := uint32(netlink.HANDLE_ROOT)
	if n.RateBits > 0 {
		tbf := newTbf(idx, n.RateBits/8, link.Attrs().MTU)
		if err := h.QdiscAdd(tbf); err != nil {
			return fmt.Errorf("add tbf rate %d bit/s: %w", n.RateBits, err)
		}
		netemParent = netlink.MakeHandle(1, 1)
	}
	if rest == (topology.Netem{}) {
		return nil
	}
	handle := rootHandle
	if netemParent != netlink.HANDLE_ROOT {
		handle = netemHandle
	}
	q := netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: idx, Handle: handle, Parent: netemParent}, netemAttrs(&rest))
	if err := h.QdiscAdd(q); err != nil {
		_ = clearNetem(h, link)
		if errors.Is(err, unix.ENOENT) {
			return ErrNetemUnsupported
		}
		return fmt.Errorf("add netem: %w", err)
	}
	return nil
}

// newTbf is a token bucket for rate bytes/s whose bucket holds 4ms of
// traffic but at least two full frames, queueing up to 100ms more.
func newTbf(index int, rate uint64, mtu int) *netlink.Tbf {
	frame := uint64(max(mtu, 1500) + 14)
	burst := max(rate/250, 2*frame)
	limit := max(burst+rate/10, burst+16*frame)
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: index, Handle: rootHandle, Parent: netlink.HANDLE_ROOT},
		Rate:       rate,
		Buffer:     netlink.Xmittime(rate, uint32(min(burst, math.MaxUint32))),
		Limit:      uint32(min(limit, math.MaxUint32)),
	}
}

// clearNetem deletes a root tbf or netem qdisc (children go with it).
func clearNetem(h *netlink.Handle, link netlink.Link) error {
	root, _, err := impairments(h, link)
	if err != nil || root == nil {
		return err
	}
	if err := h.QdiscDel(root); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// impairments finds leolab's root qdisc (tbf or netem) and the netem in the
// tree, either of which may be nil.
func impairments(h *netlink.Handle, link netlink.Link) (root netlink.Qdisc, netem *netlink.Netem, err error) {
	qs, err := h.QdiscList(link)
	if err != nil {
		return nil, nil, err
	}
	root, netem = pickImpairments(qs)
	return root, netem, nil
}

// pickImpairments finds leolab's root qdisc and netem among one link's qdiscs.
func pickImpairments(qs []netlink.Qdisc) (root netlink.Qdisc, netem *netlink.Netem) {
	for _, q := range qs {
		switch q := q.(type) {
		case *netlink.Netem:
			if q.Parent == netlink.HANDLE_ROOT {
				root = q
			}
			netem = q
		case *netlink.Tbf:
			if q.Parent == netlink.HANDLE_ROOT {
				root = q
			}
		}
	}
	return root, netem
}

func showNetem(h *netlink.Handle, link netlink.Link) (*topology.Netem, error) {
	root, netem, err := impairments(h, link)
	if err != nil || root == nil {
		return nil, err
	}
	return netemFrom(root, netem), nil
}

// netemFrom is the impairment a root qdisc and its netem (either nil) set.
func netemFrom(root netlink.Qdisc, netem *netlink.Netem) *topology.Netem {
	if root == nil {
		return nil
	}
	out := &topology.Netem{}
	if netem != nil {
		out = fromNetem(netem)
	}
	if tbf, ok := root.(*netlink.Tbf); ok {
		out.RateBits = tbf.Rate * 8
	}
	return out
}

// netemAttrs converts leolab's impairments to netlink's (µs, %, bytes/s).
func netemAttrs(n *topology.Netem) netlink.NetemQdiscAttrs {
	return netlink.NetemQdiscAttrs{
		Latency:     durationUS(n.Delay),
		Jitter:      durationUS(n.Jitter),
		Loss:        float32(n.LossPct),
		Duplicate:   float32(n.Duplicate),
		CorruptProb: float32(n.Corrupt),
		ReorderProb: float32(n.Reorder),
		Rate64:      n.RateBits / 8,
	}
}

// fromNetem converts a kernel netem qdisc (ticks, u32 fractions, bytes/s)
// back to leolab's impairments.
func fromNetem(q *netlink.Netem) *topology.Netem {
	tick := netlink.TickInUsec()
	us := func(ticks uint32) time.Duration {
		return time.Duration(math.Round(float64(ticks)/tick)) * time.Microsecond
	}
	return &topology.Netem{
		Delay:     us(q.Latency),
		Jitter:    us(q.Jitter),
		LossPct:   pct(q.Loss),
		RateBits:  q.Rate64 * 8,
		Duplicate: pct(q.Duplicate),
		Corrupt:   pct(q.CorruptProb),
		Reorder:   pct(q.ReorderProb),
	}
}

func durationUS(d time.Duration) uint32 {
	return uint32(min(max(d.Microseconds(), 0), math.MaxUint32))
}

// pct turns the kernel's u32 probability back into a percentage with three
// decimals, which is finer than anything leolab lets a user set.
func pct(v uint32) float64 {
	return math.Round(float64(v)/math.MaxUint32*100*1000) / 1000
}
