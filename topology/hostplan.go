package topology

import (
	"fmt"
	"leolab/internal/hostnames"
	"net/netip"
	"sort"
)

// Resolve plans a decoded file against env, once, under the deploy lock:
// subnets move aside for those in use on the host (not for an isolated lab,
// nor a lab across hosts, which takes its subnets from the file alone and
// is refused if they overlap), a lab across hosts is cut to this host's
// share, and every decision deploy acts on is taken and recorded in the
// Plan: the lab network namespace or NAT chain, whether forwarding is
// needed, the host id block of user-namespace nodes, and that no node
// network namespace name is another lab's. Errors here are about the host,
// never the file (Decode found those), except subnets that overlap one in
// use, located in the file.
func Resolve(d *Decoded, env Env) (*Plan, error) {
	plan, err := d.placeSubnets(env)
	if err != nil {
		return nil, err
	}
	if env.LocalHost != "" {
		share, remote, err := plan.Share(env.LocalHost)
		if err != nil {
			return nil, err
		}
		share.Remote = remote
		plan = share
		if err := checkShareSubnets(plan, env.Host); err != nil {
			return nil, err
		}
	} else {
		cp := *plan // the draft stays as Decode made it
		plan = &cp
	}
	plan.decideHostSide()
	if err := checkNetnsNames(plan, env.Host); err != nil {
		return nil, err
	}
	if plan.UIDs, err = allocUIDBlock(plan, env.Host); err != nil {
		return nil, err
	}
	return plan, nil
}

// placeSubnets is the draft when none of its subnets is in use on the host
// (the allocator takes the lowest free subnet, so subnets the draft does
// not touch cannot change its choices), else the file resolved again with
// the host's subnets taken.
//
// Against a previous plan (apply), the file is always resolved again, with
// what the running lab holds kept (sticky.go).
func (d *Decoded) placeSubnets(env Env) (*Plan, error) {
	if env.Previous != nil && env.LocalHost == "" {
		return d.keepPrevious(env)
	}
	if env.Host == nil || d.opts.Isolated || env.LocalHost != "" {
		return d.Draft, nil
	}
	used, err := env.Host.UsedSubnets()
	if err != nil {
		return nil, fmt.Errorf("read subnets in use on the host: %w", err)
	}
	if !overlapsAny(d.Draft.Subnets(), used) {
		return d.Draft, nil
	}
	opts := d.opts
	opts.Host = fixedHost(used)
	again := *d
	again.opts = opts
	return again.resolveRaw(&decoder{file: d.file})
}

func overlapsAny(subnets, used []netip.Prefix) bool {
	for _, u := range used {
		if !hostPrefixUsable(u) {
			continue
		}
		for _, s := range subnets {
			if s.Overlaps(u.Masked()) {
				return true
			}
		}
	}
	return false
}

// fixedHost is a HostView whose subnets were read already.
type fixedHost []netip.Prefix

func (f fixedHost) UsedSubnets() ([]netip.Prefix, error)  { return f, nil }
func (f fixedHost) UsedUIDs() ([]UIDBlock, error)         { return nil, nil }
func (f fixedHost) UsedNetns() (map[string]string, error) { return nil, nil }

// Subnets lists every subnet the plan occupies: bridges and links, both
// families.
func (p *Plan) Subnets() []netip.Prefix {
	var out []netip.Prefix
	add := func(s ...netip.Prefix) {
		for _, p := range s {
			if p.IsValid() {
				out = append(out, p)
			}
		}
	}
	for _, b := range p.Bridges {
		add(b.Subnet, b.Subnet6)
	}
	for _, l := range p.Links {
		add(l.Subnet, l.Subnet6)
	}
	return out
}

// checkShareSubnets refuses a share whose subnets overlap a route of this
// host or another lab on it: a lab across hosts cannot move its subnets
// aside as a one-host lab does, or the hosts would disagree.
func checkShareSubnets(p *Plan, host HostView) error {
	if host == nil {
		return nil
	}
	used, err := host.UsedSubnets()
	if err != nil {
		return fmt.Errorf("read subnets in use on the host: %w", err)
	}
	for _, s := range p.Subnets() {
		for _, u := range used {
			if u.IsValid() && u.Addr().Is4() && u.Bits() > 0 && u.Overlaps(s) {
				return fmt.Errorf("lab %s: subnet %s overlaps %s, a route or another lab on this host (a lab across hosts takes its subnets from the file alone: set ipv4_pool or the subnet)", p.Name, s, u)
			}
		}
	}
	return nil
}

// decideHostSide names where the lab's bridges live (an isolated lab's
// private namespace, or the host with the lab's iptables chain) and
// whether the host must forward for it: NAT when a bridge masquerades,
// NAT6 when such a bridge also carries IPv6.
func (p *Plan) decideHostSide() {
	p.LabNetns, p.Chain = "", ""
	if p.Isolated {
		p.LabNetns = hostnames.LabNetns(p.Name)
	} else {
		p.Chain = hostnames.LabChain(p.Name)
	}
	p.NAT, p.NAT6 = natOf(p.Bridges)
}

// natOf reports whether any bridge masquerades, and whether one of those
// carries IPv6 (NAT66).
func natOf(bridges []Bridge) (nat, nat6 bool) {
	for _, b := range bridges {
		if b.NAT {
			nat = true
			nat6 = nat6 || b.Subnet6.IsValid()
		}
	}
	return nat, nat6
}

// CompleteRecorded fills in the decisions a plan recorded by an older
// leolab lacks and can be derived from it (whether it forwards). The
// other decisions it recorded outside the plan are moved in by the caller.
func (p *Plan) CompleteRecorded() {
	p.NAT, p.NAT6 = natOf(p.Bridges)
}

// checkNetnsNames refuses a plan whose LAB-NODE netns names another lab
// already uses (lab "a" node "b-c" and lab "a-b" node "c").
func checkNetnsNames(p *Plan, host HostView) error {
	if host == nil {
		return nil
	}
	taken, err := host.UsedNetns()
	if err != nil {
		return fmt.Errorf("read network namespaces of other labs: %w", err)
	}
	for _, n := range p.Nodes {
		name := hostnames.NodeNetns(p.Name, n.Name)
		if other, ok := taken[name]; ok {
			return fmt.Errorf("node %s: network namespace name %s is already used by lab %s", n.Name, name, other)
		}
	}
	return nil
}

// User-namespace id ranges: each user-namespace node gets idsPerNode host
// ids; a lab reserves one contiguous block for all of its such nodes, placed
// in the lowest gap left by the other labs, so ranges never overlap.
const (
	uidFirst   = 1 << 20 // well above ordinary system and login ids
	uidLimit   = 1 << 31
	idsPerNode = 1 << 16
)

// UIDBlock is the host ids a lab's user-namespace nodes map: Count nodes,
// idsPerNode ids each, from Start. The zero block is a lab without such
// nodes.
type UIDBlock struct {
	Start uint32 `json:"start"`
	Count int    `json:"count"`
}

// End is one past the block's last id.
func (b UIDBlock) End() uint64 { return uint64(b.Start) + uint64(b.Count)*idsPerNode }

// NodeBase is the first host id of the ordinal-th user-namespace node.
func (b UIDBlock) NodeBase(ordinal int) uint32 { return b.Start + uint32(ordinal)*idsPerNode }

// allocUIDBlock gives the plan's user-namespace nodes a block of host ids
// no other lab holds.
func allocUIDBlock(p *Plan, host HostView) (UIDBlock, error) {
	n := 0
	for _, nd := range p.Nodes {
		if nd.UserNamespace {
			n++
		}
	}
	if n == 0 {
		return UIDBlock{}, nil
	}
	var used []UIDBlock
	if host != nil {
		var err error
		if used, err = host.UsedUIDs(); err != nil {
			return UIDBlock{}, fmt.Errorf("read host ids of other labs: %w", err)
		}
	}
	start, err := allocUIDs(n, used)
	return UIDBlock{Start: start, Count: n}, err
}

// allocUIDs returns the start of the lowest block of count*idsPerNode ids
// from uidFirst that overlaps none of used.
func allocUIDs(count int, used []UIDBlock) (uint32, error) {
	size := uint64(count) * idsPerNode
	used = append([]UIDBlock(nil), used...)
	sort.Slice(used, func(i, j int) bool { return used[i].Start < used[j].Start })
	start := uint64(uidFirst)
	for _, u := range used {
		if u.Count <= 0 {
			continue
		}
		if start+size <= uint64(u.Start) {
			break
		}
		if u.End() > start {
			start = u.End()
		}
	}
	if start+size > uidLimit {
		return 0, fmt.Errorf("no free host id range for %d user-namespace nodes", count)
	}
	return uint32(start), nil
}

// keepPrevious resolves the file again keeping env.Previous's subnets and
// addresses, avoiding the host's subnets in use (unless isolated).
func (d *Decoded) keepPrevious(env Env) (*Plan, error) {
	opts := d.opts
	opts.Previous = env.Previous
	if env.Host != nil && !d.opts.Isolated {
		used, err := env.Host.UsedSubnets()
		if err != nil {
			return nil, fmt.Errorf("read subnets in use on the host: %w", err)
		}
		opts.Host = fixedHost(used)
	}
	again := *d
	again.opts = opts
	return again.resolveRaw(&decoder{file: d.file})
}
