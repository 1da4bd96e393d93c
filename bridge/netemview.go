package bridge

import (
	"github.com/vishvananda/netlink"

	"leolab/topology"
)

// NetemsOf reports the impairments of every link of h's namespace by link
// index (links without any are absent), with one dump: a live view reads a
// whole node at once.
// Equivalent to: tc qdisc show
func NetemsOf(h *netlink.Handle) (map[int]*topology.Netem, error) {
	qs, err := h.QdiscList(nil)
	if err != nil {
		return nil, err
	}
	byLink := map[int][]netlink.Qdisc{}
	for _, q := range qs {
		i := q.Attrs().LinkIndex
		byLink[i] = append(byLink[i], q)
	}
	out := map[int]*topology.Netem{}
	for i, qs := range byLink {
		if n := netemFrom(pickImpairments(qs)); n != nil {
			out[i] = n
		}
	}
	return out, nil
}

// NetemOf reports the impairment on one link through an open handle (nil
// when there is none).
// Equivalent to: tc qdisc show dev DEV
func NetemOf(h *netlink.Handle, link netlink.Link) (*topology.Netem, error) {
	return showNetem(h, link)
}
