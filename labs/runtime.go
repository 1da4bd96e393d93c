package labs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"leolab/bridge"
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
			if st.LabNetns != "" {
				r.peerNS = "/run/netns/" + st.LabNetns
			}
		} else {
			peerNode, peerIf, _ := strings.Cut(ifc.Peer, ":")
			r.peerNS, r.peerDev = netnsPath(st.Plan.Name, peerNode), peerIf
		}
		return r, nil
	}
	return nil, fmt.Errorf("node %s has no interface %s", n.Name, ifName)
}

func netnsPath(lab, node string) string { return "/run/netns/" + topology.NetnsName(lab, node) }

// SetNetem applies n (nil clears) to both ends of NODE:IFACE.
func (m *Manager) SetNetem(lab, target string, n *topology.Netem) error {
	r, err := m.resolveIface(lab, target)
	if err != nil {
		return err
	}
	var errs *multierror.Error
	if n == nil {
		errs = multierror.Append(errs, bridge.ClearNetem(r.nodeNS, r.ifc.Name), bridge.ClearNetem(r.peerNS, r.peerDev))
	} else {
		errs = multierror.Append(errs, bridge.ApplyNetem(r.nodeNS, r.ifc.Name, n), bridge.ApplyNetem(r.peerNS, r.peerDev, n))
	}
	return errs.ErrorOrNil()
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
		peerNode, _, _ := strings.Cut(r.ifc.Peer, ":")
		errs = multierror.Append(errs, reapplyRoutes(r.st, r.node.Name), reapplyRoutes(r.st, peerNode))
	}
	return errs.ErrorOrNil()
}

func reapplyRoutes(st *State, nodeName string) error {
	for _, n := range st.Plan.Nodes {
		if n.Name == nodeName {
			ns := &bridge.NodeNS{Path: netnsPath(st.Plan.Name, n.Name)}
			defer ns.Close()
			if err := bridge.SetupNode(ns, n); err != nil {
				return fmt.Errorf("node %s: restore routes: %w", n.Name, err)
			}
		}
	}
	return nil
}

// NetemFromFlags builds impairments from `netem set` flags.
func NetemFromFlags(delay, jitter time.Duration, loss, rate string) (*topology.Netem, error) {
	n := &topology.Netem{Delay: delay, Jitter: jitter}
	if delay < 0 || jitter < 0 {
		return nil, fmt.Errorf("delay and jitter must not be negative")
	}
	if loss != "" {
		v, err := strconv.ParseFloat(strings.TrimSuffix(loss, "%"), 64)
		if err != nil || v < 0 || v > 100 {
			return nil, fmt.Errorf("--loss %q: want a percentage 0..100 like 1%%", loss)
		}
		n.LossPct = v
	}
	if rate != "" {
		v, err := parseRate(rate)
		if err != nil {
			return nil, err
		}
		n.RateBits = v
	}
	if *n == (topology.Netem{}) {
		return nil, fmt.Errorf("netem set needs at least one of --delay, --jitter, --loss, --rate")
	}
	return n, nil
}

func parseRate(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(strings.ToLower(s), u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err == nil && v > 0 {
				return uint64(v * float64(u.mult)), nil
			}
		}
	}
	return 0, fmt.Errorf("--rate %q: want e.g. 10mbit, 500kbit, 1gbit", s)
}

// FormatNetem renders impairments for `netem show`.
func FormatNetem(n *topology.Netem) string {
	if n == nil {
		return "no impairment"
	}
	var parts []string
	if n.Delay > 0 {
		parts = append(parts, "delay "+n.Delay.String())
	}
	if n.Jitter > 0 {
		parts = append(parts, "jitter "+n.Jitter.String())
	}
	if n.LossPct > 0 {
		parts = append(parts, fmt.Sprintf("loss %g%%", n.LossPct))
	}
	if n.RateBits > 0 {
		parts = append(parts, fmt.Sprintf("rate %dbit", n.RateBits))
	}
	if len(parts) == 0 {
		return "no impairment"
	}
	return strings.Join(parts, " ")
}
