package ipam

import (
	"fmt"
	"net/netip"
)

// DefaultPool is the pool automatic subnets come from when a topology does
// not set ipv4_pool.
var DefaultPool = netip.MustParsePrefix("172.20.0.0/16")

// Sizes of automatically allocated subnets.
const (
	BridgeBits = 24 // bridges get a /24
	LinkBits   = 30 // links get a /30
	linkArea   = 20 // links come from the top /20 of the pool
)

// Pool carves automatic subnets out of an IPv4 pool: bridge /24s from the
// second /24 of the pool upward, below the top /20, which holds link /30s.
//
// A Pool remembers where its last search ended: successive calls must pass
// the same Set, only ever grown, as SPEC §3's file-order allocation does.
type Pool struct {
	prefix     netip.Prefix
	links      netip.Prefix // top /20 of the pool
	nextBridge uint64       // where the next bridge search starts
	nextLink   uint64       // where the next link search starts
}

// checkPool refuses a pool that is not a prefix of the family (ok false),
// not canonical, or /8 or larger.
func checkPool(p netip.Prefix, family string, ok bool) error {
	if !ok {
		return fmt.Errorf("pool %s is not an %s prefix", p, family)
	}
	if p.Masked() != p {
		return fmt.Errorf("pool %s has host bits set (did you mean %s?)", p, p.Masked())
	}
	if p.Bits() < 8 {
		return fmt.Errorf("pool %s is too large: /8 or smaller", p)
	}
	return nil
}

// NewPool checks p and returns its allocator. The pool must be a canonical
// IPv4 prefix of /19 or larger, so that bridges and links both have room.
func NewPool(p netip.Prefix) (*Pool, error) {
	if err := checkPool(p, "IPv4", p.IsValid() && p.Addr().Is4()); err != nil {
		return nil, err
	}
	if p.Bits() > linkArea-1 {
		return nil, fmt.Errorf("pool %s is too small: need /%d or larger (its top /%d is kept for links)", p, linkArea-1, linkArea)
	}
	last := lastAddr(p)
	top := netip.PrefixFrom(last, linkArea).Masked()
	first := u32(p.Addr()) + 1<<(32-BridgeBits) // x.x.1.0
	return &Pool{prefix: p, links: top, nextBridge: first, nextLink: u32(top.Addr())}, nil
}

// Prefix is the whole pool.
func (p *Pool) Prefix() netip.Prefix { return p.prefix }

// LinkArea is the top /20 of the pool, where link subnets come from.
func (p *Pool) LinkArea() netip.Prefix { return p.links }

// BridgeSubnet returns the lowest /24 of the pool from x.x.1.0/24 upward,
// below the link area, that overlaps nothing in used. It does not add the
// result to used; the caller does once it commits to it.
func (p *Pool) BridgeSubnet(used *Set, bridge string) (netip.Prefix, error) {
	s, ok, next := firstFree(p.nextBridge, u32(p.links.Addr()), BridgeBits, used)
	p.nextBridge = next
	if ok {
		return s, nil
	}
	return netip.Prefix{}, fmt.Errorf("pool %s has no free /%d for bridge %s", p.prefix, BridgeBits, bridge)
}

// LinkSubnet returns the lowest /30 of the link area that overlaps nothing
// in used. It does not add the result to used.
func (p *Pool) LinkSubnet(used *Set, link string) (netip.Prefix, error) {
	s, ok, next := firstFree(p.nextLink, u32(lastAddr(p.links))+1, LinkBits, used)
	p.nextLink = next
	if ok {
		return s, nil
	}
	return netip.Prefix{}, fmt.Errorf("pool %s has no free /%d in %s for link %s", p.prefix, LinkBits, p.links, link)
}

// firstFree walks prefixes of length bits from start (inclusive) to end
// (exclusive, as integers; 1<<32 is the end of IPv4) and returns the first
// that overlaps nothing in used, and where to resume next time.
func firstFree(start, end uint64, bits int, used *Set) (netip.Prefix, bool, uint64) {
	step := uint64(1) << (32 - bits)
	for a := start; a+step <= end; a += step {
		cand := netip.PrefixFrom(fromU32(a), bits)
		if _, taken := used.Overlapping(cand); !taken {
			return cand, true, a
		}
	}
	return netip.Prefix{}, false, end
}
