package topology

import (
	"net/netip"
	"time"

	"leolab/internal/spec/nodespec"
)

// Plan is a fully resolved lab: every default applied and every address,
// host device name, MAC, route and host-side choice decided. Nothing in a
// Plan refers back to YAML positions; it is what labs applies and what the
// state file records, and it survives a JSON round trip unchanged (but for
// Warnings), so a recorded plan can be compared with a new one.
type Plan struct {
	Name     string       `json:"name"`
	File     string       `json:"file,omitempty"` // absolute path of the topology file
	Pool     netip.Prefix `json:"ipv4_pool"`
	Isolated bool         `json:"isolated"`
	Bridges  []Bridge     `json:"bridges"`
	Nodes    []Node       `json:"nodes"`
	Links    []Link       `json:"links"`
	Checks   []Check      `json:"checks,omitempty"`   // what a working lab looks like
	IPv6     bool         `json:"ipv6,omitempty"`     // ipv6: true, automatic IPv6 everywhere
	Pool6    netip.Prefix `json:"ipv6_pool,omitzero"` // set when any subnet6 is automatic
	// Hosts are the leolab hosts a lab spans (hosts:), empty for a lab on
	// one host; LocalHost is the one whose share this plan is (Share).
	Hosts     []Host   `json:"hosts,omitempty"`
	LocalHost string   `json:"local_host,omitempty"`
	Warnings  []string `json:"-"` // validate warnings (cross-host MTU)

	// Decided by Resolve for the host, so that the plan is the lab's
	// whole desired state. LabNetns is the private namespace of an
	// isolated lab's bridges; Chain the iptables chain of any other (the
	// same name in the nat and filter tables: masquerade and forward rules);
	// NAT and NAT6 say the host must forward IPv4 and IPv6 for it (a
	// bridge masquerades, one with IPv6 too); UIDs is the host id block of
	// its user-namespace nodes; Remote, for a share (LocalHost), the
	// nodes other hosts run.
	LabNetns string   `json:"lab_netns,omitempty"`
	Chain    string   `json:"nat_chain,omitempty"` // the tag keeps its first name
	NAT      bool     `json:"nat,omitempty"`
	NAT6     bool     `json:"nat6,omitempty"`
	UIDs     UIDBlock `json:"uids,omitzero"`
	Remote   []Node   `json:"remote,omitempty"`
}

// Bridge is a Linux bridge owned by the lab.
type Bridge struct {
	Name    string       `json:"name"`
	Device  string       `json:"device"`        // host device name, <= 15 bytes
	Alias   string       `json:"alias"`         // leolab:LAB:bridge:NAME
	MAC     string       `json:"mac,omitempty"` // fixed, so the gateway's MAC never follows its ports (hostnames.BridgeMAC)
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway,omitzero"` // .1 when gateway: true, else invalid
	NAT     bool         `json:"nat"`
	MTU     int          `json:"mtu"`
	// Subnet6 is the bridge's IPv6 subnet, invalid for an IPv4-only bridge;
	// Gateway6 its ::1 on the host side when gateway: true.
	Subnet6  netip.Prefix `json:"subnet6,omitzero"`
	Gateway6 netip.Addr   `json:"gateway6,omitzero"`
	// Hosts with a node on the bridge (file order of hosts:); a bridge on
	// more than one host is one segment joined by VXLAN.
	Hosts []string `json:"hosts,omitempty"`
	VXLAN *VXLAN   `json:"vxlan,omitempty"`
}

// Node is one isolated Linux system of the lab.
type Node struct {
	Name          string      `json:"name"`
	Index         int         `json:"index"` // position in file order, stable for the lab
	Rootfs        string      `json:"rootfs"`
	RootfsCopy    bool        `json:"rootfs_copy,omitempty"`
	Interfaces    []Interface `json:"interfaces"`
	Routes        []Route     `json:"routes,omitempty"` // default route included (To = 0.0.0.0/0)
	Env           []string    `json:"env,omitempty"`    // KEY=VALUE, sorted by key
	Exec          []string    `json:"exec,omitempty"`
	Cmd           []string    `json:"cmd,omitempty"`
	Binds         []Bind      `json:"binds,omitempty"`
	Sysctls       []Sysctl    `json:"sysctls,omitempty"` // sorted by key
	Privileged    bool        `json:"privileged,omitempty"`
	UserNamespace bool        `json:"user_namespace,omitempty"`
	Limits        Limits      `json:"limits,omitzero"`
	// Overlay is a host directory whose tree is copied over the node's root
	// into its own writable layer before it starts (a Kathará DEV/ folder).
	Overlay string `json:"overlay,omitempty"`
	// Shutdown commands run inside the node, in order, when the lab is
	// destroyed, before the node stops (Kathará's .shutdown files).
	Shutdown []string `json:"shutdown,omitempty"`
	// After names nodes whose exec lines must all have run before this
	// node's start (Kathará's lab.dep).
	After []string `json:"after,omitempty"`
	FRR   *FRR     `json:"frr,omitempty"`  // FRRouting as the main process
	Bird  *Bird    `json:"bird,omitempty"` // BIRD 2 as the main process
	Caps  Caps     `json:"capabilities,omitzero"`
	Host  string   `json:"host,omitempty"` // the leolab host running it (hosts:)
}

// FirstAddr is the node's first interface address (used for NAME in
// /etc/hosts), or the zero Addr when it has none.
func (n *Node) FirstAddr() netip.Addr {
	for _, ifc := range n.Interfaces {
		if ifc.IPv4.IsValid() {
			return ifc.IPv4.Addr()
		}
	}
	return netip.Addr{}
}

// Interface is one network interface inside a node. It is either a bridge
// port (Bridge set) or one end of a point-to-point link (Link >= 0).
type Interface struct {
	Name       string       `json:"name"`             // name inside the node, e.g. eth0
	Bridge     string       `json:"bridge,omitempty"` // bridge name for a bridge port
	Link       int          `json:"link"`             // index into Plan.Links, -1 for a bridge port
	Peer       string       `json:"peer,omitempty"`   // NODE:IFACE of the other end of a link
	IPv4       netip.Prefix `json:"ipv4,omitzero"`    // invalid for "none"
	MAC        string       `json:"mac"`              // deterministic, locally administered
	MTU        int          `json:"mtu"`
	HostDevice string       `json:"host_device"` // host-side (or temporary) veth name, <= 15 bytes
	Alias      string       `json:"alias"`       // leolab:LAB:NODE:IFACE
	Netem      *Netem       `json:"netem,omitempty"`
	IPv6       netip.Prefix `json:"ipv6,omitzero"` // invalid when it carries no IPv6
}

// FirstAddr6 is the node's first IPv6 interface address (NAME in
// /etc/hosts), or the zero Addr when it has none.
func (n *Node) FirstAddr6() netip.Addr {
	for _, ifc := range n.Interfaces {
		if ifc.IPv6.IsValid() {
			return ifc.IPv6.Addr()
		}
	}
	return netip.Addr{}
}

// HasIPv6 reports whether any interface of the node carries IPv6.
func (n *Node) HasIPv6() bool { return n.FirstAddr6().IsValid() }

// HasIPv6 reports whether any bridge or link of the plan carries IPv6 (a
// dual-stack lab: validate shows IPv6 columns, destroy clears ip6tables).
func (p *Plan) HasIPv6() bool {
	for _, b := range p.Bridges {
		if b.Subnet6.IsValid() {
			return true
		}
	}
	for _, l := range p.Links {
		if l.Subnet6.IsValid() {
			return true
		}
	}
	return false
}

// Link is a point-to-point veth link between two node interfaces.
type Link struct {
	Endpoints [2]Endpoint  `json:"endpoints"`
	Subnet    netip.Prefix `json:"subnet,omitzero"` // invalid for ipv4: none
	MTU       int          `json:"mtu"`
	Netem     *Netem       `json:"netem,omitempty"`
	Subnet6   netip.Prefix `json:"subnet6,omitzero"` // invalid for an IPv4-only link
	VXLAN     *VXLAN       `json:"vxlan,omitempty"`  // ends on two hosts
}

// Endpoint names one interface of one node.
type Endpoint struct {
	Node  string `json:"node"`
	Iface string `json:"iface"`
}

func (e Endpoint) String() string { return e.Node + ":" + e.Iface }

// Route is a static route inside a node. To is 0.0.0.0/0 for the default
// route, ::/0 for the IPv6 one; To and Via are of one family.
type Route struct {
	To  netip.Prefix `json:"to"`
	Via netip.Addr   `json:"via"`
}

// Bind, Sysctl and Limits live in nodespec, which the node runtime's init
// can import without linking the topology parser.
type (
	// Bind is a host path made visible inside a node.
	Bind = nodespec.Bind
	// Sysctl is one kernel parameter set inside a node (net.* only).
	Sysctl = nodespec.Sysctl
	// Limits are cgroup limits for one node; zero means unlimited.
	Limits = nodespec.Limits
)

// Netem is a set of link impairments, applied with the netem qdisc.
type Netem struct {
	Delay     time.Duration `json:"delay,omitempty"`
	Jitter    time.Duration `json:"jitter,omitempty"`
	LossPct   float64       `json:"loss_pct,omitempty"`
	RateBits  uint64        `json:"rate_bps,omitempty"` // bits per second
	Duplicate float64       `json:"duplicate_pct,omitempty"`
	Corrupt   float64       `json:"corrupt_pct,omitempty"`
	Reorder   float64       `json:"reorder_pct,omitempty"`
}
