package topology

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"slices"

	"leolab/internal/hostnames"
)

// A lab across hosts (hosts:). Every leolab host runs the same file and
// brings up its share (Plan.Share); names, addresses, MACs and VNIs come
// from the file alone, so every host computes the same plan. A bridge with
// nodes on several hosts gets a VXLAN port per host; a link whose ends are
// on two hosts becomes a VXLAN device per end.

// Host is one leolab host of a lab spanning several.
type Host struct {
	Name      string     `json:"name"`
	Address   netip.Addr `json:"address"` // underlay IPv4
	VXLANPort int        `json:"vxlan_port"`
}

// VXLAN joins a bridge or a link across hosts. VNI and Device come from the
// file; Local, Port and Remotes are filled in by Share for one host.
type VXLAN struct {
	VNI     uint32     `json:"vni"`
	Device  string     `json:"device,omitempty"` // host device of a bridge's VXLAN port
	Host    string     `json:"host,omitempty"`   // this host's name
	Local   netip.Addr `json:"local,omitzero"`   // this host's underlay address
	Port    int        `json:"port,omitempty"`   // this host's UDP port
	Remotes []Remote   `json:"remotes,omitempty"`
}

// Remote is another host a VXLAN segment reaches.
type Remote struct {
	Host    string     `json:"host"`
	Address netip.Addr `json:"address"`
	Port    int        `json:"port"`
}

// The MTU of a cross-host segment: VXLAN over IPv4 adds 50 bytes to every
// frame on the underlay (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet
// 14), so an underlay of 1500 carries inner packets of at most 1450.
const (
	DefaultVXLANPort = 4789
	UnderlayMTU      = 1500
	VXLANOverhead    = 50
	CrossHostMTU     = UnderlayMTU - VXLANOverhead
)

var hostNameRE = lazyRegexp(`^[a-z][a-z0-9-]{0,31}$`)

type rawHost struct {
	name    sval // at the key
	address sval
	port    ival
}

func (d *decoder) decodeHosts(e entry) []*rawHost {
	entries, _ := d.mapping(e.value, "hosts")
	var out []*rawHost
	for _, he := range entries {
		h := &rawHost{name: sval{v: he.key, pos: he.kpos, set: true}}
		d.fields(he.value, "host "+he.key, map[string]func(entry){
			"address":    into(&h.address, d.str),
			"vxlan_port": into(&h.port, d.integer),
		})
		out = append(out, h)
	}
	return out
}

// checkHosts reads hosts: into the plan, in file order.
func (r *resolver) checkHosts() {
	if len(r.raw.hosts) > 0 && r.opts.Isolated {
		r.errAt(r.raw.hosts[0].name.pos, "hosts: is not available with --isolated (VXLAN needs the host's network)")
		return
	}
	byAddr := map[netip.Addr]string{}
	for _, rh := range r.raw.hosts {
		if !hostNameRE().MatchString(rh.name.v) {
			r.errAt(rh.name.pos, "host name %q must match ^[a-z][a-z0-9-]{0,31}$", rh.name.v)
			continue
		}
		h := Host{Name: rh.name.v, VXLANPort: DefaultVXLANPort}
		if !rh.address.set {
			r.errAt(rh.name.pos, "host %s needs an address (its underlay IPv4)", h.Name)
			continue
		}
		a, err := netip.ParseAddr(rh.address.v)
		if err != nil || !a.Is4() || !usable(a) {
			r.errAt(rh.address.pos, "host %s: address %q is not a unicast IPv4 address", h.Name, rh.address.v)
			continue
		}
		if other, dup := byAddr[a]; dup {
			r.errAt(rh.address.pos, "host %s: address %s is already host %s's", h.Name, a, other)
			continue
		}
		byAddr[a] = h.Name
		h.Address = a
		if rh.port.set {
			if rh.port.v < 1 || rh.port.v > 65535 {
				r.errAt(rh.port.pos, "host %s: vxlan_port %d is outside 1..65535", h.Name, rh.port.v)
				continue
			}
			h.VXLANPort = int(rh.port.v)
		}
		r.plan.Hosts = append(r.plan.Hosts, h)
	}
}

// nodeHost places a node: its host:, or the first host.
func (r *resolver) nodeHost(n *nodeState) {
	h := n.raw.host
	switch {
	case len(r.raw.hosts) == 0:
		if h.set {
			r.errAt(h.pos, "node %s: host %q needs hosts: at the top level of the file", n.out.Name, h.v)
		}
	case !h.set:
		if len(r.plan.Hosts) > 0 {
			n.out.Host = r.plan.Hosts[0].Name
		}
	case hostIndex(r.plan.Hosts, h.v) < 0:
		r.errAt(h.pos, "node %s: unknown host %q", n.out.Name, h.v)
	default:
		n.out.Host = h.v
	}
}

func hostIndex(hosts []Host, name string) int {
	for i, h := range hosts {
		if h.Name == name {
			return i
		}
	}
	return -1
}

// spanHosts finds the bridges and links on more than one host and gives
// them a VNI and the cross-host MTU. It runs before finish, which copies
// MTUs onto interfaces.
func (r *resolver) spanHosts() {
	if len(r.plan.Hosts) == 0 {
		return
	}
	on := map[*bridgeState]map[string]bool{}
	for _, n := range r.order {
		for _, ifc := range n.ifaces {
			if ifc.bridge != nil && n.out.Host != "" {
				if on[ifc.bridge] == nil {
					on[ifc.bridge] = map[string]bool{}
				}
				on[ifc.bridge][n.out.Host] = true
			}
		}
	}
	for _, rb := range r.raw.bridges {
		b := r.bridges[rb.name.v]
		if b == nil {
			continue
		}
		for _, h := range r.plan.Hosts {
			if on[b][h.Name] {
				b.out.Hosts = append(b.out.Hosts, h.Name)
			}
		}
		if len(b.out.Hosts) > 1 {
			b.out.VXLAN = &VXLAN{VNI: r.names.vni("bridge/" + b.out.Name), Device: r.names.vxlanDevice(b.out.Name)}
			b.out.MTU = r.crossMTU(rb.mtu, "bridge "+b.out.Name)
		}
	}
	for _, l := range r.links {
		if l.nodes[0].out.Host != l.nodes[1].out.Host {
			l.out.VXLAN = &VXLAN{VNI: r.names.vni("link/" + l.name())}
			l.out.MTU = r.crossMTU(l.raw.mtu, "link "+l.name())
		}
	}
}

// crossMTU is the MTU of a segment spanning hosts: CrossHostMTU, or the
// file's when smaller; a larger one is kept (the underlay may carry jumbo
// frames) with a warning.
func (r *resolver) crossMTU(set ival, what string) int {
	if !set.set || checkMTU(set.v) != nil {
		return CrossHostMTU
	}
	if set.v > CrossHostMTU {
		r.plan.Warnings = append(r.plan.Warnings, fmt.Sprintf(
			"%s:%d:%d: warning: %s spans hosts: mtu %d is more than %d (underlay %d - %d bytes of VXLAN over IPv4); it works only if the underlay carries frames of %d",
			r.file, set.pos.line, set.pos.col, what, set.v, CrossHostMTU, UnderlayMTU, VXLANOverhead, set.v+VXLANOverhead))
	}
	return int(set.v)
}

// vni is a 24-bit VXLAN network id from sha256(lab/seed), unique in the plan.
func (n *namer) vni(seed string) uint32 {
	if n.vnis == nil {
		n.vnis = map[uint32]bool{}
	}
	for i := 0; ; i++ {
		s := n.lab + "/" + seed
		if i > 0 {
			s = fmt.Sprintf("%s#%d", s, i)
		}
		sum := sha256.Sum256([]byte(s))
		v := uint32(sum[0])<<16 | uint32(sum[1])<<8 | uint32(sum[2])
		if v != 0 && !n.vnis[v] {
			n.vnis[v] = true
			return v
		}
	}
}

// Share is the part of p that host brings up: its nodes (indexed anew),
// the bridges they use (a bridge without nodes goes on the first host),
// and the links with an end on it, with every cross-host VXLAN filled in
// for this host. A cross-host bridge keeps its gateway and NAT only on its
// first host. Checks run from this host's nodes are kept. remote lists the
// nodes other hosts run.
func (p *Plan) Share(host string) (share *Plan, remote []Node, err error) {
	hi := hostIndex(p.Hosts, host)
	if hi < 0 {
		var names []string
		for _, h := range p.Hosts {
			names = append(names, h.Name)
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("lab %s has no hosts: (--host is for labs across hosts)", p.Name)
		}
		return nil, nil, fmt.Errorf("lab %s has no host %q (its hosts: %v)", p.Name, host, names)
	}
	me := p.Hosts[hi]
	out := *p
	out.LocalHost = host
	out.Bridges, out.Nodes, out.Links = []Bridge{}, []Node{}, []Link{}
	hostOf := map[string]string{}
	for _, n := range p.Nodes {
		hostOf[n.Name] = n.Host
		if n.Host != host {
			remote = append(remote, n)
		}
	}
	for _, b := range p.Bridges {
		if !slices.Contains(b.Hosts, host) && !(len(b.Hosts) == 0 && hi == 0) {
			continue
		}
		if b.VXLAN != nil {
			v := *b.VXLAN
			v.Host, v.Local, v.Port, v.Remotes = host, me.Address, me.VXLANPort, nil
			for _, h := range b.Hosts {
				if h != host {
					v.Remotes = append(v.Remotes, p.remote(h))
				}
			}
			b.VXLAN = &v
			b.MAC = hostnames.BridgeMAC(b.Alias, host)
			if b.Hosts[0] != host {
				b.Gateway, b.NAT = netip.Addr{}, false
			}
		}
		out.Bridges = append(out.Bridges, b)
	}
	newIndex := map[int]int{}
	for i, l := range p.Links {
		ha, hb := hostOf[l.Endpoints[0].Node], hostOf[l.Endpoints[1].Node]
		if ha != host && hb != host {
			continue
		}
		if l.VXLAN != nil {
			v := *l.VXLAN
			other := ha
			if ha == host {
				other = hb
			}
			v.Host, v.Local, v.Port, v.Remotes = host, me.Address, me.VXLANPort, []Remote{p.remote(other)}
			l.VXLAN = &v
		}
		newIndex[i] = len(out.Links)
		out.Links = append(out.Links, l)
	}
	for _, n := range p.Nodes {
		if n.Host != host {
			continue
		}
		n.Index = len(out.Nodes)
		n.Interfaces = slices.Clone(n.Interfaces)
		for j := range n.Interfaces {
			if n.Interfaces[j].Link >= 0 {
				n.Interfaces[j].Link = newIndex[n.Interfaces[j].Link]
			}
		}
		out.Nodes = append(out.Nodes, n)
	}
	out.Checks = nil
	for _, c := range p.Checks {
		if hostOf[c.Node] == host {
			out.Checks = append(out.Checks, c) // each host checks from its own nodes
		}
	}
	return &out, remote, nil
}

func (p *Plan) remote(host string) Remote {
	h := p.Hosts[hostIndex(p.Hosts, host)]
	return Remote{Host: h.Name, Address: h.Address, Port: h.VXLANPort}
}
