package labs

import (
	"errors"
	"fmt"
	"io/fs"

	"leolab/internal/hostnames"
	"leolab/labs/view"
	"leolab/node"
	"leolab/topology"
)

// Inspect returns the views of the named labs (all running labs when names
// is empty), as inspect prints them (SPEC §4).
func (m *Manager) Inspect(names []string) ([]view.Lab, error) {
	if len(names) == 0 {
		var err error
		if names, err = m.labNames(); err != nil {
			return nil, err
		}
	}
	var out []view.Lab
	for _, n := range names {
		st, err := readState(m.statePath(n))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no lab named %s is deployed", n)
		}
		if err != nil {
			return nil, fmt.Errorf("lab %s: %w", n, err)
		}
		out = append(out, m.labView(st))
	}
	return out, nil
}

// labView is st as inspect shows it, node states read from the kernel.
func (m *Manager) labView(st *State) view.Lab {
	p := st.Plan
	phase := m.phaseOf(st)
	v := view.Lab{Name: p.Name, Isolated: p.Isolated, Phase: phase, Created: st.Created,
		Bridges: []view.Bridge{}, Nodes: []view.Node{}, Links: []view.Link{}}
	for _, b := range p.Bridges {
		v.Bridges = append(v.Bridges, view.Bridge{Name: b.Name, Device: b.Device,
			Subnet:  optString(b.Subnet.String(), b.Subnet.IsValid()),
			Gateway: optString(b.Gateway.String(), b.Gateway.IsValid()), NAT: b.NAT,
			Subnet6:  optString(b.Subnet6.String(), b.Subnet6.IsValid()),
			Gateway6: optString(b.Gateway6.String(), b.Gateway6.IsValid())})
	}
	for _, n := range p.Nodes {
		v.Nodes = append(v.Nodes, nodeView(st, phase, n))
	}
	for _, n := range st.Plan.Remote {
		nv := nodeView(st, phase, n)
		nv.State, nv.Netns = "remote (host "+n.Host+")", ""
		v.Nodes = append(v.Nodes, nv)
	}
	for _, l := range p.Links {
		v.Links = append(v.Links, view.Link{
			Endpoints: []string{l.Endpoints[0].String(), l.Endpoints[1].String()},
			Subnet:    optString(l.Subnet.String(), l.Subnet.IsValid()),
			Subnet6:   optString(l.Subnet6.String(), l.Subnet6.IsValid())})
	}
	return v
}

// nodeView is node n of st as inspect shows it.
func nodeView(st *State, phase string, n topology.Node) view.Node {
	nv := view.Node{Name: n.Name, State: "missing", Netns: hostnames.NodeNetns(st.Plan.Name, n.Name),
		Rootfs: n.Rootfs, Interfaces: []view.Interface{}, Host: n.Host}
	if ns := st.Nodes[n.Name]; ns != nil && ns.Pid > 0 {
		nv.Pid = ns.Pid
		nv.State = nodeState(ns, phase)
	}
	for _, ifc := range n.Interfaces {
		nv.Interfaces = append(nv.Interfaces, view.Interface{Name: ifc.Name, Bridge: ifc.Bridge,
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

// optString is s when ok, else "" (JSON shows absent addresses as "").
func optString(s string, ok bool) string {
	if !ok {
		return ""
	}
	return s
}
