package ipam

import "net/netip"

// Set is a collection of IPv4 and IPv6 prefixes already in use (the two
// families never overlap). The zero value is empty. Overlap queries cost at
// most 33 map lookups (129 for IPv6) however large the set, so a
// pathological topology cannot make allocation quadratic.
type Set struct {
	exact   map[netip.Prefix]bool         // every prefix added
	covered map[netip.Prefix]netip.Prefix // each supernet of an added prefix -> the first prefix under it
	n       int
}

// Add marks p as used. Invalid and IPv4-mapped IPv6 prefixes are ignored.
func (s *Set) Add(p netip.Prefix) {
	if !p.IsValid() || p.Addr().Is4In6() {
		return
	}
	p = p.Masked()
	if s.exact == nil {
		s.exact = map[netip.Prefix]bool{}
		s.covered = map[netip.Prefix]netip.Prefix{}
	}
	if s.exact[p] {
		return
	}
	s.exact[p] = true
	s.n++
	for bits := 0; bits <= p.Bits(); bits++ {
		super := netip.PrefixFrom(p.Addr(), bits).Masked()
		if _, ok := s.covered[super]; !ok {
			s.covered[super] = p
		}
	}
}

// Overlapping returns a used prefix that overlaps p, if any: one inside p
// (or equal to it) first, else the largest one containing p.
func (s *Set) Overlapping(p netip.Prefix) (netip.Prefix, bool) {
	if s.exact == nil || !p.IsValid() || p.Addr().Is4In6() {
		return netip.Prefix{}, false
	}
	p = p.Masked()
	if q, ok := s.covered[p]; ok {
		return q, true
	}
	for bits := 0; bits < p.Bits(); bits++ {
		super := netip.PrefixFrom(p.Addr(), bits).Masked()
		if s.exact[super] {
			return super, true
		}
	}
	return netip.Prefix{}, false
}

// Len is the number of distinct prefixes in the set.
func (s *Set) Len() int { return s.n }
