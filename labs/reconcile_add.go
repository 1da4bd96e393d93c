package labs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/go-multierror"

	"leolab/bridge"
	"leolab/node"
	"leolab/topology"
)

// The additions and in-place changes of a converge (reconcile.go).

// newDeployment is the deploy engine over the target plan, sharing the
// lab's recorded node pids (so a link to a node that keeps running finds
// its namespace), and the part of it this change creates: the nodes to
// start and the links to create (new ones, and those of recreated nodes).
// Its state is never written: the reconciler records the lab's own.
func (r *reconciler) newDeployment() (*deployment, part) {
	t := r.pc.target
	d := r.pc.diff
	start := map[string]bool{}
	for _, n := range slices.Concat(d.AddNodes, d.RecreateNodes) {
		start[n] = true
	}
	var pt part
	for i := range t.Nodes {
		if start[t.Nodes[i].Name] {
			pt.nodes = append(pt.nodes, &t.Nodes[i])
		}
	}
	for _, l := range t.Links {
		id := topology.IDOf(l)
		if start[id[0].Node] || start[id[1].Node] || slices.Contains(d.AddLinks, id) {
			pt.links = append(pt.links, l)
		}
	}
	view := &State{Plan: t, Nodes: r.st.Nodes, NAT: r.st.NAT, NAT6: r.st.NAT6}
	dep := r.m.newDeployment(view, DeployOptions{MaxWorkers: r.workers})
	dep.progress = r.m.newProgress(t.Name, len(pt.nodes))
	return dep, pt
}

// prepareImages readies the root filesystems of the nodes to start, before
// anything on the host changes: a bad rootfs changes nothing.
func (r *reconciler) prepareImages(ctx context.Context) error {
	if len(r.pt.nodes) == 0 {
		return nil
	}
	if err := r.d.prepareImages(ctx, r.pt); err != nil {
		return err
	}
	if r.st.Images == nil {
		r.st.Images = map[string]string{}
	}
	maps.Copy(r.st.Images, r.d.st.Images)
	return nil
}

// createBridges creates new and re-created bridges, and rewrites the
// lab's forward and NAT chains when its bridges or their nat changed.
func (r *reconciler) createBridges(ctx context.Context) error {
	// The engine's own step with no bridges opens the lab's bridge
	// namespace (kept for the ports); the bridges are added here, not
	// there, since it would rewrite the chains with the new bridges alone.
	if err := r.d.createHostSide(ctx, part{}); err != nil {
		return err
	}
	for _, name := range r.pc.diff.AddBridges {
		b, _ := bridgeOf(r.pc.target, name)
		if err := r.d.host.AddBridge(b); err != nil {
			return fmt.Errorf("bridge %s: %w", b.Name, err)
		}
	}
	if !r.pc.diff.NATChanged || r.st.Plan.LabNetns != "" {
		return nil
	}
	return r.rewriteChains()
}

func (r *reconciler) rewriteChains() error {
	bridges := r.pc.target.Bridges
	nat := false
	for _, b := range bridges {
		nat = nat || b.NAT
	}
	if err := r.m.setupIptables(r.st, r.d.net, bridges); err != nil {
		return err
	}
	if !nat && r.st.NAT {
		// The last nat bridge went: its masquerade rules go with it; the
		// chain, its jump and ip_forward are destroy's.
		if err := bridge.FlushNAT(r.pc.target.Chain, r.st.NAT6); err != nil {
			return err
		}
	}
	return nil
}

// startNodes starts the new and recreated nodes with the deploy engine
// (their pids go into the lab's state, which is written), and registers
// their namespaces.
func (r *reconciler) startNodes(ctx context.Context) error {
	if len(r.pt.nodes) == 0 {
		return nil
	}
	err := r.d.startNodes(ctx, r.pt)
	r.d.mu.Lock()
	werr := writeState(r.m.statePath(r.lab()), r.st)
	r.d.mu.Unlock()
	if err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	return r.d.registerNetns(ctx, r.pt)
}

// createPorts plugs new and re-created bridge ports of nodes that stay in.
func (r *reconciler) createPorts(context.Context) error {
	errs := forAll(r.workers, len(r.pc.diff.AddPorts), func(i int) error {
		e := r.pc.diff.AddPorts[i]
		ifc := r.pc.target.Node(e.Node).Iface(e.Iface)
		b, _ := bridgeOf(r.pc.target, ifc.Bridge)
		// What an interrupted run may have left goes first.
		if err := bridge.DeleteLink(r.hostNS, ifc.HostDevice); err != nil {
			return err
		}
		if err := r.d.host.AddPort(r.nsOf(e.Node), b, *ifc); err != nil {
			return fmt.Errorf("node %s: interface %s: %w", e.Node, e.Iface, err)
		}
		return nil
	})
	for _, e := range r.pc.diff.AddPorts {
		r.linked[e.Node] = true
	}
	return errs
}

// createLinks creates new links and re-attaches the links of recreated
// nodes, each after deleting whatever of it is left.
func (r *reconciler) createLinks(ctx context.Context) error {
	links := r.pt.links
	err := forAll(r.workers, len(links), func(i int) error {
		e := links[i].Endpoints
		return multierror.Append(nil,
			bridge.DeleteLink(r.nsOf(e[0].Node), e[0].Iface),
			bridge.DeleteLink(r.nsOf(e[1].Node), e[1].Iface)).ErrorOrNil()
	})
	if err != nil {
		return fmt.Errorf("clear links: %w", err)
	}
	for _, l := range links {
		r.linked[l.Endpoints[0].Node] = true
		r.linked[l.Endpoints[1].Node] = true
	}
	return r.d.createLinks(ctx, r.pt)
}

// configureNodes gives started nodes their routes, releases them and runs
// their exec lines.
func (r *reconciler) configureNodes(ctx context.Context) error {
	if len(r.pt.nodes) == 0 {
		return nil
	}
	// New ports began a quiet start of their dual-stack bridges
	// (bridge/mldquiet.go): end it before the nodes' commands run.
	if err := r.d.endQuietStart(ctx, r.pt); err != nil {
		return err
	}
	return r.d.configureNodes(ctx, r.pt)
}

// changeInPlace changes routes, netem, MTUs and sysctls of what stays.
func (r *reconciler) changeInPlace(context.Context) error {
	var errs *multierror.Error
	errs = multierror.Append(errs, r.bridgeMTUs())
	for _, e := range r.pc.diff.MTU {
		errs = multierror.Append(errs, r.setMTU(e))
	}
	errs = multierror.Append(errs, forAll(r.workers, len(r.pc.diff.Netem), func(i int) error {
		e := r.pc.diff.Netem[i]
		ifc := r.pc.target.Node(e.Node).Iface(e.Iface)
		return bridge.ApplyNetem(r.nsOf(e.Node), e.Iface, ifc.Netem)
	}))
	for _, name := range r.pc.diff.Sysctls {
		n := r.pc.target.Node(name)
		if err := bridge.SetSysctls(r.nsOf(name), n.Sysctls); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("node %s: %w", name, err))
		}
	}
	errs = multierror.Append(errs, r.routes())
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("change in place: %w", err)
	}
	return nil
}

func (r *reconciler) bridgeMTUs() error {
	var errs *multierror.Error
	for _, name := range r.pc.diff.BridgeMTU {
		b, _ := bridgeOf(r.pc.target, name)
		errs = multierror.Append(errs, bridge.SetMTU(r.hostNS, b.Device, b.MTU))
	}
	return errs.ErrorOrNil()
}

// setMTU sets a link end's MTU, or both ends of a bridge port.
func (r *reconciler) setMTU(e topology.Endpoint) error {
	ifc := r.pc.target.Node(e.Node).Iface(e.Iface)
	if ifc.Bridge != "" {
		if err := bridge.SetMTU(r.hostNS, ifc.HostDevice, ifc.MTU); err != nil {
			return err
		}
	}
	return bridge.SetMTU(r.nsOf(e.Node), e.Iface, ifc.MTU)
}

// routes replaces the routes of nodes whose routes changed and of nodes
// that stay but got an interface back (the kernel dropped the routes
// through the old one); routes the target no longer has are deleted.
func (r *reconciler) routes() error {
	started := map[string]bool{}
	for _, n := range r.pt.nodes {
		started[n.Name] = true
	}
	var names []string
	for _, n := range r.pc.target.Nodes {
		if !started[n.Name] && (r.linked[n.Name] || slices.Contains(r.pc.diff.Routes, n.Name)) {
			names = append(names, n.Name)
		}
	}
	return forAll(r.workers, len(names), func(i int) error {
		n := r.pc.target.Node(names[i])
		if old := r.pc.base.Node(n.Name); old != nil {
			if err := bridge.DeleteRoutes(r.nsOf(n.Name), topology.RoutesRemoved(old.Routes, n.Routes)); err != nil {
				return fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
		ns := &bridge.NodeNS{Path: r.nsOf(n.Name)}
		defer ns.Close()
		return bridge.SetupNode(ns, *n)
	})
}

// staying lists the running nodes of the target this change does not
// start, with their inits.
func (r *reconciler) staying() map[string]NodeState {
	started := map[string]bool{}
	for _, n := range r.pt.nodes {
		started[n.Name] = true
	}
	out := map[string]NodeState{}
	for _, n := range r.pc.target.Nodes {
		if ns := r.st.Nodes[n.Name]; ns != nil && !started[n.Name] {
			out[n.Name] = *ns
		}
	}
	return out
}

// refreshHosts brings /etc/hosts of the running nodes that stay up to
// date (started ones copy the new file as they start), so that every node
// lists every node (SPEC §3); only when names or addresses changed. When
// lines only come, they are appended (a few bytes a node, whatever the
// lab's size, and what a node added itself stays); when some go, each file
// is rewritten without them. A node it cannot write to is named on the
// progress stream: it never fails an apply. After an interrupted change
// what the files hold is unknown: each is rewritten whole.
func (r *reconciler) refreshHosts(stay map[string]NodeState) error {
	was := hostsFile(r.pc.base, r.pc.base.Remote)
	want := hostsFile(r.pc.target, r.pc.target.Remote)
	if was == want && !r.pc.redone {
		return nil
	}
	gone, added := lineDiff(was, want)
	if len(gone) == 0 && len(added) == 0 && !r.pc.redone {
		return nil // the same lines in another order
	}
	names := make([]string, 0, len(stay))
	for n := range stay {
		names = append(names, n)
	}
	return forAll(r.workers, len(names), func(i int) error {
		ns := stay[names[i]]
		if !nodeAlive(&ns) {
			return nil
		}
		edit := func() error { return node.EditEtcHosts(ns.Pid, gone, added) }
		if r.pc.redone {
			edit = func() error { return node.WriteEtcHosts(ns.Pid, []byte(want)) }
		}
		if err := edit(); err != nil {
			r.m.logf("node %s: %v", names[i], err)
		}
		return nil
	})
}

// lineDiff lists the lines of a that b lacks, and those of b that a lacks.
func lineDiff(a, b string) (gone map[string]bool, added []string) {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		inA[l] = true
	}
	for _, l := range strings.Split(b, "\n") {
		inB[l] = true
		if l != "" && !inA[l] {
			added = append(added, l)
		}
	}
	gone = map[string]bool{}
	for l := range inA {
		if l != "" && !inB[l] {
			gone[l] = true
		}
	}
	return gone, added
}
