package ipam

import (
	"fmt"
	"net/netip"
)

// Hosts hands out host addresses inside one subnet: reserved (static)
// addresses first, then Next from .2 upward.
type Hosts struct {
	subnet netip.Prefix
	taken  map[netip.Addr]string // address -> who holds it
	next   uint64                // offset from the network address to try next
}

// NewHosts returns an allocator for subnet with nothing taken.
func NewHosts(subnet netip.Prefix) *Hosts {
	return &Hosts{subnet: subnet.Masked(), taken: map[netip.Addr]string{}, next: 2}
}

// Subnet is the subnet this allocator hands addresses from.
func (h *Hosts) Subnet() netip.Prefix { return h.subnet }

// Reserve takes a for owner. It fails when a lies outside the subnet, is its
// network or broadcast address, or is already taken.
func (h *Hosts) Reserve(a netip.Addr, owner string) error {
	switch {
	case !h.subnet.Contains(a):
		return fmt.Errorf("%s is outside %s", a, h.subnet)
	case a == Network(h.subnet):
		return fmt.Errorf("%s is the network address of %s", a, h.subnet)
	case a == Broadcast(h.subnet):
		return fmt.Errorf("%s is the broadcast address of %s", a, h.subnet)
	}
	if who, ok := h.taken[a]; ok {
		return fmt.Errorf("%s is already used by %s", a, who)
	}
	h.taken[a] = owner
	return nil
}

// Owner reports who holds a, if anyone.
func (h *Hosts) Owner(a netip.Addr) (string, bool) {
	who, ok := h.taken[a]
	return who, ok
}

// Next takes the lowest free address from .2 upward for owner.
func (h *Hosts) Next(owner string) (netip.Addr, error) {
	for {
		a, ok := Host(h.subnet, int(h.next))
		if !ok || h.next > 1<<32 {
			return netip.Addr{}, fmt.Errorf("subnet %s has no free address for %s", h.subnet, owner)
		}
		h.next++
		if _, taken := h.taken[a]; !taken {
			h.taken[a] = owner
			return a, nil
		}
	}
}
