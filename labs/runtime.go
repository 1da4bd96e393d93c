package labs

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-multierror"

	"leolab/bridge"
	"leolab/internal/hostnames"
	"leolab/topology"
)

// ifaceRef is one node interface of a running lab, with where its two veth
// ends live.
type ifaceRef struct {
	st      *State
	node    *topology.Node
	ifc     topology.Interface
	nodeNS  string // the node's registered netns path
	peerNS  string // other end: the peer node's netns, or the bridge side ("" = host netns)
	peerDev string // other end's device name
}

// resolveIface finds NODE:IFACE (NODE may be LAB/NODE) in a running lab.
func (m *Manager) resolveIface(lab, target string) (*ifaceRef, error) {
	nodeName, ifName, ok := strings.Cut(target, ":")
	if !ok {
		return nil, fmt.Errorf("%q: want NODE:IFACE", target)
	}
	st, n, err := m.resolveNode(lab, nodeName)
	if err != nil {
		return nil, err
	}
	for _, ifc := range n.Interfaces {
		if ifc.Name != ifName {
			continue
		}
		r := &ifaceRef{st: st, node: n, ifc: ifc, nodeNS: netnsPath(st.Plan.Name, n.Name)}
		if ifc.Bridge != "" {
			r.peerDev = ifc.HostDevice
			if st.Plan.LabNetns != "" {
				r.peerNS = hostnames.NetnsPath(st.Plan.LabNetns)
			}
		} else {
			peerNode, peerIf, _ := strings.Cut(ifc.Peer, ":")
			r.peerNS, r.peerDev = netnsPath(st.Plan.Name, peerNode), peerIf
		}
		return r, nil
	}
	return nil, fmt.Errorf("node %s has no interface %s", n.Name, ifName)
}

func netnsPath(lab, node string) string {
	return hostnames.NetnsPath(hostnames.NodeNetns(lab, node))
}

// SetNetem applies n (nil clears) to both ends of NODE:IFACE, or to
// neither: when one end refuses it, both keep the impairments they had.
//
// The change is recorded in the lab's plan, so that apply compares the
// file with what the link does now. It holds the lab's lock: it fails fast
// while a deploy, apply or destroy of the lab runs.
func (m *Manager) SetNetem(lab, target string, n *topology.Netem) error {
	r, err := m.resolveIface(lab, target)
	if err != nil {
		return err
	}
	lock, err := m.lockLab(r.st.Plan.Name)
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	if r, err = m.resolveIface(r.st.Plan.Name, target); err != nil { // as it is under the lock
		return err
	}
	ends := []struct{ ns, dev string }{{r.nodeNS, r.ifc.Name}, {r.peerNS, r.peerDev}}
	old := make([]*topology.Netem, len(ends))
	for i, e := range ends {
		if old[i], err = bridge.ShowNetem(e.ns, e.dev); err != nil {
			return err
		}
	}
	for i, e := range ends {
		err = nil
		if i == 1 {
			err = faultErr("netem-peer") // fault tests: the peer end refuses
		}
		if err == nil {
			err = bridge.ApplyNetem(e.ns, e.dev, n)
		}
		if err != nil {
			// ApplyNetem left end i as it was; put back the ends before it.
			errs := multierror.Append(nil, err)
			for j := range i {
				errs = multierror.Append(errs, bridge.ApplyNetem(ends[j].ns, ends[j].dev, old[j]))
			}
			return errs.ErrorOrNil()
		}
	}
	return m.recordNetem(r, n)
}

// recordNetem writes n as the impairment of both ends of r into its lab's
// state (a bridge port has one, the node's).
func (m *Manager) recordNetem(r *ifaceRef, n *topology.Netem) error {
	set := func(node, iface string) {
		if ifc := r.st.Plan.Node(node).Iface(iface); ifc != nil {
			if n == nil || topology.NetemEqual(n, nil) {
				ifc.Netem = nil
			} else {
				v := *n
				ifc.Netem = &v
			}
		}
	}
	set(r.node.Name, r.ifc.Name)
	if peerNode, peerIf, ok := strings.Cut(r.ifc.Peer, ":"); ok {
		set(peerNode, peerIf)
	}
	return writeState(m.statePath(r.st.Plan.Name), r.st)
}

// ShowNetem reports the impairment on the node end of NODE:IFACE.
func (m *Manager) ShowNetem(lab, target string) (*topology.Netem, error) {
	r, err := m.resolveIface(lab, target)
	if err != nil {
		return nil, err
	}
	return bridge.ShowNetem(r.nodeNS, r.ifc.Name)
}

// SetLink takes NODE:IFACE down or up: both ends of a link, the bridge side
// of a bridge port.
func (m *Manager) SetLink(lab, target string, up bool) error {
	r, err := m.resolveIface(lab, target)
	if err != nil {
		return err
	}
	if r.ifc.Bridge != "" {
		return bridge.SetLinkUp(r.peerNS, r.peerDev, up)
	}
	errs := multierror.Append(nil, bridge.SetLinkUp(r.nodeNS, r.ifc.Name, up), bridge.SetLinkUp(r.peerNS, r.peerDev, up))
	if up && errs.ErrorOrNil() == nil {
		// Taking a node's own interface down made the kernel drop every route
		// through it: put both nodes' planned routes back.
		peerNode, peerIf, _ := strings.Cut(r.ifc.Peer, ":")
		errs = multierror.Append(errs, bridge.RestoreIPv6(r.nodeNS, r.ifc), bridge.RestoreIPv6(r.peerNS, peerIface(r.st, peerNode, peerIf)))
		errs = multierror.Append(errs, reapplyRoutes(r.st, r.node.Name), reapplyRoutes(r.st, peerNode))
	}
	return errs.ErrorOrNil()
}

// peerIface is interface iface of node nodeName in st's plan, or a bare
// one of that name.
func peerIface(st *State, nodeName, iface string) topology.Interface {
	for _, n := range st.Plan.Nodes {
		if n.Name != nodeName {
			continue
		}
		for _, ifc := range n.Interfaces {
			if ifc.Name == iface {
				return ifc
			}
		}
	}
	return topology.Interface{Name: iface}
}

func reapplyRoutes(st *State, nodeName string) error {
	for _, n := range st.Plan.Nodes {
		if n.Name == nodeName {
			ns := &bridge.NodeNS{Path: netnsPath(st.Plan.Name, n.Name)}
			defer ns.Close()
			if err := bridge.SetupNode(ns, n); err != nil {
				return fmt.Errorf("restore routes: %w", err)
			}
		}
	}
	return nil
}
