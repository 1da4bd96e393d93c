package labs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"
	"time"

	"leolab/internal/hostnames"
	"leolab/node"
	"leolab/topology"
)

// LabView is one lab as `inspect --format json` prints it (SPEC §4).
type LabView struct {
	Name     string       `json:"name"`
	Isolated bool         `json:"isolated"`
	Phase    string       `json:"phase"`
	Created  time.Time    `json:"created"`
	Bridges  []BridgeView `json:"bridges"`
	Nodes    []NodeView   `json:"nodes"`
	Links    []LinkView   `json:"links"`
}

// BridgeView is one bridge of a lab.
type BridgeView struct {
	Name    string `json:"name"`
	Device  string `json:"device"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
	NAT     bool   `json:"nat"`
	// Subnet6 and Gateway6 are the bridge's IPv6 subnet and host-side
	// address, absent on an IPv4-only bridge.
	Subnet6  string `json:"subnet6,omitempty"`
	Gateway6 string `json:"gateway6,omitempty"`
}

// NodeView is one node of a lab.
type NodeView struct {
	Name       string          `json:"name"`
	State      string          `json:"state"`
	Pid        int             `json:"pid"`
	Netns      string          `json:"netns"`
	Rootfs     string          `json:"rootfs"`
	Interfaces []InterfaceView `json:"interfaces"`
	Host       string          `json:"host,omitempty"` // a lab across hosts: the host running it
}

// InterfaceView is one node interface: a bridge port or a link end.
type InterfaceView struct {
	Name   string `json:"name"`
	Bridge string `json:"bridge,omitempty"`
	Peer   string `json:"peer,omitempty"`
	IPv4   string `json:"ipv4"`
	MAC    string `json:"mac"`
	IPv6   string `json:"ipv6,omitempty"` // CIDR, absent when it carries no IPv6
}

// LinkView is one point-to-point link.
type LinkView struct {
	Endpoints []string `json:"endpoints"`
	Subnet    string   `json:"subnet"`
	Subnet6   string   `json:"subnet6,omitempty"`
}

// Inspect returns the views of the named labs (all running labs when names
// is empty).
func (m *Manager) Inspect(names []string) ([]LabView, error) {
	if len(names) == 0 {
		var err error
		if names, err = m.labNames(); err != nil {
			return nil, err
		}
	}
	var out []LabView
	for _, n := range names {
		st, err := readState(m.statePath(n))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no lab named %s is deployed", n)
		}
		if err != nil {
			return nil, fmt.Errorf("lab %s: %w", n, err)
		}
		out = append(out, m.view(st))
	}
	return out, nil
}

func (m *Manager) view(st *State) LabView {
	p := st.Plan
	phase := m.phaseOf(st)
	v := LabView{Name: p.Name, Isolated: p.Isolated, Phase: phase, Created: st.Created,
		Bridges: []BridgeView{}, Nodes: []NodeView{}, Links: []LinkView{}}
	for _, b := range p.Bridges {
		v.Bridges = append(v.Bridges, BridgeView{Name: b.Name, Device: b.Device,
			Subnet:  optString(b.Subnet.String(), b.Subnet.IsValid()),
			Gateway: optString(b.Gateway.String(), b.Gateway.IsValid()), NAT: b.NAT,
			Subnet6:  optString(b.Subnet6.String(), b.Subnet6.IsValid()),
			Gateway6: optString(b.Gateway6.String(), b.Gateway6.IsValid())})
	}
	for _, n := range p.Nodes {
		v.Nodes = append(v.Nodes, nodeView(st, phase, n))
	}
	for _, n := range st.Remote {
		nv := nodeView(st, phase, n)
		nv.State, nv.Netns = "remote (host "+n.Host+")", ""
		v.Nodes = append(v.Nodes, nv)
	}
	for _, l := range p.Links {
		v.Links = append(v.Links, LinkView{
			Endpoints: []string{l.Endpoints[0].String(), l.Endpoints[1].String()},
			Subnet:    optString(l.Subnet.String(), l.Subnet.IsValid()),
			Subnet6:   optString(l.Subnet6.String(), l.Subnet6.IsValid())})
	}
	return v
}

func nodeView(st *State, phase string, n topology.Node) NodeView {
	nv := NodeView{Name: n.Name, State: "missing", Netns: hostnames.NodeNetns(st.Plan.Name, n.Name),
		Rootfs: n.Rootfs, Interfaces: []InterfaceView{}, Host: n.Host}
	if ns := st.Nodes[n.Name]; ns != nil && ns.Pid > 0 {
		nv.Pid = ns.Pid
		nv.State = nodeState(ns, phase)
	}
	for _, ifc := range n.Interfaces {
		nv.Interfaces = append(nv.Interfaces, InterfaceView{Name: ifc.Name, Bridge: ifc.Bridge,
			Peer: ifc.Peer, IPv4: optString(ifc.IPv4.String(), ifc.IPv4.IsValid()), MAC: ifc.MAC,
			IPv6: optString(ifc.IPv6.String(), ifc.IPv6.IsValid())})
	}
	return nv
}

// nodeState is "running" only when the recorded pid still is the same
// process (same start time) and has not exited, so neither a recycled pid
// nor an init that died and awaits reaping shows as the node. It is read
// from the kernel every time, never from the state alone.
func nodeState(ns *NodeState, phase string) string {
	if !node.Alive(ns.Pid, ns.StartTime) {
		return "exited" // gone, recycled, or a zombie not yet reaped
	}
	if phase != PhaseRunning {
		return phase
	}
	return "running"
}

// PrintJSON writes views as SPEC §4 JSON: one object for one lab, an array
// with all.
func PrintJSON(w io.Writer, views []LabView, array bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if !array && len(views) == 1 {
		return enc.Encode(views[0])
	}
	if views == nil {
		views = []LabView{}
	}
	return enc.Encode(views)
}

// PrintTable writes the human inspect table.
func PrintTable(w io.Writer, views []LabView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tNODE\tSTATE\tPID\tINTERFACES\tROOTFS")
	for _, v := range views {
		for _, n := range v.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, n.Name, n.State, n.Pid, interfacesCell(n), n.Rootfs)
		}
	}
	tw.Flush()
}

func interfacesCell(n NodeView) string {
	var parts []string
	for _, ifc := range n.Interfaces {
		where := ifc.Bridge
		if where == "" {
			where = ifc.Peer
		}
		addr := ifc.IPv4
		if addr == "" {
			addr = "-"
		}
		if ifc.IPv6 != "" {
			addr += "," + ifc.IPv6
		}
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", ifc.Name, addr, where))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// optString is s when ok, else "" (JSON shows absent addresses as "").
func optString(s string, ok bool) string {
	if !ok {
		return ""
	}
	return s
}
