package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"

	"leolab/bridge"
	"leolab/internal/hostnames"
	"leolab/node"
	"leolab/rootfs"
	"leolab/topology"
)

// The reconciler (leolab apply): one engine that turns a running lab into
// another plan. topology.Compare says what differs; reconcile makes exactly
// that change, in an order the kernel allows:
//
//	prepare images → record intent → remove links, ports, nodes, bridges →
//	create bridges, start nodes, ports, links, configure new nodes →
//	change in place (routes, netem, MTU, sysctls) → record the result
//
// (and, beside these, /etc/hosts of the nodes that stay).
//
// Nodes are started, linked and configured by the deploy engine's own steps
// (apply.go) run on the subset that is new. Every removal is idempotent and
// every addition first clears what an interrupted run may have left, so
// converging again (after SIGKILL, or to roll back a failure) is the same
// engine run once more: State.Pending says what may be half-done.

// everything is what a state may have on the host: its plan plus, while an
// apply is pending, the nodes, bridges and links of the plan it aims at.
func (st *State) everything() *topology.Plan {
	if st.Pending == nil || st.Pending.Target == nil {
		return st.Plan
	}
	return unionPlan(st.Plan, st.Pending.Target)
}

// unionPlan is a with b's nodes, bridges and links that a lacks appended.
func unionPlan(a, b *topology.Plan) *topology.Plan {
	u := *a
	u.Nodes = slices.Clone(a.Nodes)
	u.Bridges = slices.Clone(a.Bridges)
	u.Links = slices.Clone(a.Links)
	nodes, bridges, links := map[string]bool{}, map[string]bool{}, map[topology.LinkID]bool{}
	for _, n := range a.Nodes {
		nodes[n.Name] = true
	}
	for _, br := range a.Bridges {
		bridges[br.Name] = true
	}
	for _, l := range a.Links {
		links[topology.IDOf(l)] = true
	}
	for _, n := range b.Nodes {
		if !nodes[n.Name] {
			u.Nodes = append(u.Nodes, n)
		}
	}
	for _, br := range b.Bridges {
		if !bridges[br.Name] {
			u.Bridges = append(u.Bridges, br)
		}
	}
	for _, l := range b.Links {
		if !links[topology.IDOf(l)] {
			u.Links = append(u.Links, l)
		}
	}
	return &u
}

// plannedChange is the diff a converge makes, with the plans it is between:
// base is what may be on the host (the recorded plan, plus a pending
// change's), target what the lab becomes.
type plannedChange struct {
	base, target *topology.Plan
	diff         *topology.Diff
	// redone: a change was pending (interrupted, or being rolled back), so
	// what the nodes hold is not known to match base.
	redone bool
}

// planChange compares what runs with target: the recorded plan, nodes whose
// init is gone (recreated), and everything a pending, interrupted change
// touched (made again, whatever state it was left in).
func (m *Manager) planChange(st *State, target *topology.Plan) *plannedChange {
	base := st.everything()
	d := topology.Compare(base, target)
	pc := &plannedChange{base: base, target: target, diff: d}
	if st.Pending != nil && st.Pending.Target != nil {
		pc.redone = true
		pc.redo(topology.Compare(st.Plan, st.Pending.Target))
	}
	pc.recreateDead(st)
	return pc
}

// recreateDead restarts nodes that should run and do not.
func (pc *plannedChange) recreateDead(st *State) {
	busy := pc.diff.ReplacedNodes()
	for _, n := range pc.target.Nodes {
		if busy[n.Name] || pc.base.Node(n.Name) == nil {
			continue
		}
		if !nodeAlive(st.Nodes[n.Name]) {
			pc.recreate(n.Name, "not running")
		}
	}
}

func nodeAlive(ns *NodeState) bool {
	if ns == nil || ns.Pid <= 0 {
		return false
	}
	cur, err := node.StartTimeOf(ns.Pid)
	return err == nil && cur == ns.StartTime
}

func (pc *plannedChange) recreate(name, why string) {
	pc.diff.RecreateNodes = append(pc.diff.RecreateNodes, name)
	pc.diff.Changes = append(pc.diff.Changes, topology.Change{Kind: topology.Recreate, Op: "~", What: "node", Name: name, Detail: why})
}

// redo makes again everything an interrupted change (dirty) touched that
// the target still has: its state on the host is unknown.
func (pc *plannedChange) redo(dirty *topology.Diff) {
	d := pc.diff
	busy := pc.diff.ReplacedNodes()
	for _, list := range [][]string{dirty.AddNodes, dirty.RemoveNodes, dirty.RecreateNodes} {
		for _, n := range list {
			if !busy[n] && pc.target.Node(n) != nil {
				busy[n] = true
				pc.recreate(n, "interrupted apply")
			}
		}
	}
	for _, b := range slices.Concat(dirty.AddBridges, dirty.RemoveBridges) {
		if bridgeIn(pc.target, b) && !slices.Contains(d.AddBridges, b) {
			d.RemoveBridges = append(d.RemoveBridges, b)
			d.AddBridges = append(d.AddBridges, b)
			d.Changes = append(d.Changes, topology.Change{Kind: topology.Recreate, Op: "~", What: "bridge", Name: b, Detail: "interrupted apply"})
			for _, e := range portsOn(pc.target, b, busy) {
				d.RemovePorts = appendNew(d.RemovePorts, e)
				d.AddPorts = appendNew(d.AddPorts, e)
			}
		}
	}
	for _, e := range slices.Concat(dirty.AddPorts, dirty.RemovePorts) {
		if ifc := pc.target.Node(e.Node).Iface(e.Iface); !busy[e.Node] && ifc != nil && ifc.Bridge != "" {
			d.RemovePorts = appendNew(d.RemovePorts, e)
			d.AddPorts = appendNew(d.AddPorts, e)
		}
	}
	targetLinks := map[topology.LinkID]bool{}
	for _, l := range pc.target.Links {
		targetLinks[topology.IDOf(l)] = true
	}
	for _, id := range slices.Concat(dirty.AddLinks, dirty.RemoveLinks) {
		if targetLinks[id] && !busy[id[0].Node] && !busy[id[1].Node] {
			d.RemoveLinks = appendNew(d.RemoveLinks, id)
			d.AddLinks = appendNew(d.AddLinks, id)
		}
	}
	d.NATChanged = d.NATChanged || dirty.NATChanged
	d.BridgeMTU = mergeNames(d.BridgeMTU, dirty.BridgeMTU, func(b string) bool { return bridgeIn(pc.target, b) })
	inTarget := func(n string) bool { return !busy[n] && pc.target.Node(n) != nil }
	d.Routes = mergeNames(d.Routes, dirty.Routes, inTarget)
	d.Sysctls = mergeNames(d.Sysctls, dirty.Sysctls, inTarget)
	for _, e := range slices.Concat(dirty.Netem, dirty.MTU) {
		if inTarget(e.Node) && pc.target.Node(e.Node).Iface(e.Iface) != nil {
			if slices.Contains(dirty.Netem, e) {
				d.Netem = appendNew(d.Netem, e)
			}
			if slices.Contains(dirty.MTU, e) {
				d.MTU = appendNew(d.MTU, e)
			}
		}
	}
}

func appendNew[T comparable](list []T, v T) []T {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func mergeNames(a, b []string, keep func(string) bool) []string {
	for _, n := range b {
		if keep(n) {
			a = appendNew(a, n)
		}
	}
	return a
}

func bridgeIn(p *topology.Plan, name string) bool {
	_, ok := bridgeOf(p, name)
	return ok
}

func bridgeOf(p *topology.Plan, name string) (topology.Bridge, bool) {
	for _, b := range p.Bridges {
		if b.Name == name {
			return b, true
		}
	}
	return topology.Bridge{}, false
}

// portsOn lists the ports on bridge b of nodes that are not being replaced.
func portsOn(p *topology.Plan, b string, skip map[string]bool) []topology.Endpoint {
	var out []topology.Endpoint
	for _, n := range p.Nodes {
		if skip[n.Name] {
			continue
		}
		for _, ifc := range n.Interfaces {
			if ifc.Bridge == b {
				out = append(out, topology.Endpoint{Node: n.Name, Iface: ifc.Name})
			}
		}
	}
	return out
}

func linkOf(p *topology.Plan, id topology.LinkID) (topology.Link, bool) {
	for _, l := range p.Links {
		if topology.IDOf(l) == id {
			return l, true
		}
	}
	return topology.Link{}, false
}

// reconciler runs one plannedChange on a lab.
type reconciler struct {
	m       *Manager
	st      *State
	pc      *plannedChange
	workers int
	hostNS  string // where the lab's bridges live: "" the host's, else the lab namespace
	// linked are nodes that stay but got an interface back (a re-created
	// port or link): the kernel dropped their routes through it.
	linked map[string]bool
	d      *deployment // the deploy engine over the target plan
	pt     part        // what of the target it creates
}

func (m *Manager) newReconciler(st *State, pc *plannedChange, workers int) *reconciler {
	r := &reconciler{m: m, st: st, pc: pc, workers: workers, linked: map[string]bool{}}
	if r.workers <= 0 {
		r.workers = DefaultWorkers()
	}
	if st.Plan.LabNetns != "" {
		r.hostNS = hostnames.NetnsPath(st.Plan.LabNetns)
	}
	r.d, r.pt = r.newDeployment()
	return r
}

// step is one stage of a converge, named for fault injection
// (LEOLAB_FAULT_AT="apply: NAME") and errors.
type step struct {
	name string
	fn   func(context.Context) error
}

// run makes the change: every stage in order, the state written after the
// removals and again at the end (Plan = target, Pending cleared).
func (r *reconciler) run(ctx context.Context) error {
	steps := []step{
		{"remove links", r.removeLinks},
		{"remove nodes", r.removeNodes},
		{"remove bridges", r.removeBridges},
		{"create bridges", r.createBridges},
		{"start nodes", r.startNodes},
		{"create ports", r.createPorts},
		{"create links", r.createLinks},
		{"configure nodes", r.configureNodes},
		{"change in place", r.changeInPlace},
	}
	// /etc/hosts of the nodes that stay is rewritten beside the other
	// steps: it touches only those files, and a node started meanwhile
	// copies the new file itself.
	hosts := make(chan error, 1)
	stay := r.staying() // read here: the steps change st.Nodes meanwhile
	go func() { hosts <- r.refreshHosts(stay) }()
	defer func() { <-hosts }()
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply %s interrupted before %s: %w", r.st.Plan.Name, s.name, err)
		}
		faultHook("apply: " + s.name)
		if err := faultErr("apply: " + s.name); err != nil {
			return err
		}
		if err := s.fn(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *reconciler) lab() string { return r.st.Plan.Name }

func (r *reconciler) nsOf(nodeName string) string { return netnsPath(r.lab(), nodeName) }

// removeLinks deletes removed and re-created links and ports of nodes that
// stay (those of nodes that go are removed with them).
func (r *reconciler) removeLinks(context.Context) error {
	d := r.pc.diff
	errs := forAll(r.workers, len(d.RemoveLinks), func(i int) error {
		id := d.RemoveLinks[i]
		// Either end takes the pair with it; both are tried, one may be gone.
		return multierror.Append(nil,
			bridge.DeleteLink(r.nsOf(id[0].Node), id[0].Iface),
			bridge.DeleteLink(r.nsOf(id[1].Node), id[1].Iface)).ErrorOrNil()
	})
	errs = multierror.Append(errs, forAll(r.workers, len(d.RemovePorts), func(i int) error {
		e := d.RemovePorts[i]
		ifc := r.pc.base.Node(e.Node).Iface(e.Iface)
		if ifc == nil || ifc.HostDevice == "" {
			return nil
		}
		return bridge.DeleteLink(r.hostNS, ifc.HostDevice)
	}))
	if err := errs.(*multierror.Error).ErrorOrNil(); err != nil {
		return fmt.Errorf("remove links: %w", err)
	}
	return nil
}

// removeNodes stops removed and recreated nodes, after deleting their
// interfaces (so their peers' ends and host ports are gone at once, not
// when the kernel gets round to freeing the namespace), and removes
// everything a node has: netns name, cgroups, layer, control socket.
func (r *reconciler) removeNodes(context.Context) error {
	d := r.pc.diff
	names := slices.Concat(d.RemoveNodes, d.RecreateNodes)
	removed := map[string]bool{}
	for _, n := range d.RemoveNodes {
		removed[n] = true
	}
	err := forAll(r.workers, len(names), func(i int) error {
		n := r.pc.base.Node(names[i])
		if n == nil {
			return nil
		}
		if err := r.removeNode(n, removed[n.Name]); err != nil {
			return err
		}
		if removed[n.Name] {
			// Its directory goes too: exec and shell find nodes by it.
			return r.removeNodeDir(n.Name)
		}
		return nil
	})
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		delete(r.st.Nodes, n)
	}
	if werr := writeState(r.m.statePath(r.lab()), r.st); werr != nil {
		err = multierror.Append(err, werr)
	}
	if err != nil {
		return fmt.Errorf("remove nodes: %w", err)
	}
	return nil
}

func (r *reconciler) removeNode(n *topology.Node, shutdown bool) error {
	var errs *multierror.Error
	if ns := r.st.Nodes[n.Name]; ns != nil && shutdown && nodeAlive(ns) {
		r.m.runShutdownOf(r.lab(), n, ns)
	}
	for _, ifc := range n.Interfaces {
		if ifc.Bridge != "" {
			errs = multierror.Append(errs, bridge.DeleteLink(r.hostNS, ifc.HostDevice))
			continue
		}
		errs = multierror.Append(errs, bridge.DeleteLink(r.nsOf(n.Name), ifc.Name))
		if peer, iface, ok := strings.Cut(ifc.Peer, ":"); ok {
			errs = multierror.Append(errs, bridge.DeleteLink(r.nsOf(peer), iface))
		}
	}
	if ns := r.st.Nodes[n.Name]; ns != nil && ns.Pid > 0 {
		if err := node.Stop(ns.Pid, ns.StartTime, stopGrace); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("node %s: %w", n.Name, err))
		}
	}
	errs = multierror.Append(errs, stopInits(r.lab(), n.Name))
	errs = multierror.Append(errs, bridge.UnregisterNetns(hostnames.NodeNetns(r.lab(), n.Name)))
	errs = multierror.Append(errs, node.RemoveCgroups(r.lab(), n.Name))
	errs = multierror.Append(errs, rootfs.RemoveNodeLayer(r.m.nodeDir(r.lab(), n.Name)))
	if err := os.Remove(r.m.socketPath(r.lab(), n.Index)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = multierror.Append(errs, err)
	}
	return errs.ErrorOrNil()
}

// removeNodeDir removes a removed node's directory, never crossing a
// mount point (its root was mounted in the node's own mount namespace).
func (r *reconciler) removeNodeDir(name string) error {
	dir := r.m.nodeDir(r.lab(), name)
	if err := rootfs.RemoveContents(dir); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("node %s: remove %s: %w", name, dir, err)
	}
	return nil
}

func (r *reconciler) removeBridges(context.Context) error {
	if len(r.pc.diff.RemoveBridges) == 0 {
		return nil
	}
	host, err := r.openHost()
	if err != nil {
		return err
	}
	defer host.Close()
	var errs *multierror.Error
	for _, name := range r.pc.diff.RemoveBridges {
		if b, ok := bridgeOf(r.pc.base, name); ok {
			errs = multierror.Append(errs, host.DeleteBridge(b.Device))
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("remove bridges: %w", err)
	}
	return nil
}

// openHost opens the namespace of the lab's bridges: the host's, or an
// isolated lab's own (made again if an interrupted run left none).
func (r *reconciler) openHost() (*bridge.Host, error) {
	var host *bridge.Host
	var err error
	if r.st.Plan.LabNetns == "" {
		host, err = bridge.OpenHost()
	} else {
		host, err = bridge.CreateLabNS(r.st.Plan.LabNetns)
	}
	if err != nil {
		return nil, fmt.Errorf("open lab network namespace: %w", err)
	}
	return host, nil
}
