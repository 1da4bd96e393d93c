package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/go-multierror"

	"leolab/bridge"
	"leolab/internal/hostnames"
	"leolab/node"
	"leolab/rootfs"
	"leolab/topology"
)

// stopGrace is how long a node's init gets after SIGTERM before SIGKILL.
const stopGrace = 2 * time.Second

// teardownWorkers bounds the parallel per-node steps of destroy.
const teardownWorkers = 64

// ErrNoSuchLab is returned (wrapped) by Destroy when the root holds no lab
// of that name: nothing was done, which a caller may count as success.
var ErrNoSuchLab = errors.New("no such lab")

// Destroy removes everything lab created.
func (m *Manager) Destroy(lab string) error {
	lock, err := m.lockLabWithin(lab, destroyLockWait)
	if err != nil {
		return err
	}
	if _, err := os.Stat(m.labDir(lab)); errors.Is(err, fs.ErrNotExist) {
		lock.unlock(false)
		return fmt.Errorf("%w: %s (in %s; nothing to destroy)", ErrNoSuchLab, lab, m.Root)
	}
	err = m.destroyLocked(lab)
	lock.unlock(err == nil)
	return err
}

// DestroyAll destroys every lab with a state directory; with cleanup it
// also sweeps orphans no state file mentions.
func (m *Manager) DestroyAll(cleanup bool) error {
	names, err := m.labNames()
	if err != nil {
		return err
	}
	var errs *multierror.Error
	for _, n := range names {
		if err := m.Destroy(n); !errors.Is(err, ErrNoSuchLab) { // gone meanwhile
			errs = multierror.Append(errs, err)
		}
	}
	if cleanup {
		errs = multierror.Append(errs, m.sweepOrphans())
	}
	return errs.ErrorOrNil()
}

func (m *Manager) destroyLocked(lab string) error {
	st, err := readState(m.statePath(lab))
	switch {
	case err == nil:
		if st.Phase == PhaseRunning {
			m.runShutdown(st)
		}
		st.Phase = PhaseDestroying
		return m.teardown(st)
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(m.labDir(lab)); errors.Is(derr, fs.ErrNotExist) {
			return nil // nothing to destroy
		}
		return m.sweepLab(lab)
	default:
		return m.sweepLab(lab) // garbage state: find everything by name
	}
}

// teardown removes what st describes, continuing past failures; "already
// gone" is success everywhere, so it serves as a deploy's rollback (after a
// failure at any step) as well as destroy. It goes in the reverse of the
// engine's order: netns names, nodes (their links and bridge ports go with
// their namespaces), cgroups, node layers, then the host side they were
// plugged into. The state file goes last, so a teardown interrupted
// half-way can be run again.
func (m *Manager) teardown(st *State) error {
	p := st.everything() // while an apply is pending, both plans
	net, run := m.network(), m.runner()
	var errs *multierror.Error
	destroyStep(p.Name, "unregister netns")
	errs = multierror.Append(errs, forAll(teardownWorkers, len(p.Nodes), func(i int) error {
		return gone(net.UnregisterNetns(hostnames.NodeNetns(p.Name, p.Nodes[i].Name)))
	}))
	destroyStep(p.Name, "stop nodes")
	errs = multierror.Append(errs, m.stopNodes(st))
	destroyStep(p.Name, "remove cgroups")
	errs = multierror.Append(errs, forAll(teardownWorkers, len(p.Nodes), func(i int) error {
		return gone(run.RemoveCgroups(p.Name, p.Nodes[i].Name))
	}))
	if errs.ErrorOrNil() == nil {
		// Only once every init is gone: a live one may still use its layer.
		destroyStep(p.Name, "remove node layers")
		errs = multierror.Append(errs, m.removeNodeLayers(p.Name, nodeNames(p)))
	}
	destroyStep(p.Name, "remove host side")
	errs = multierror.Append(errs, m.removeHostSide(st))
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("destroy %s: %w", p.Name, err)
	}
	destroyStep(p.Name, "remove lab dir")
	if err := m.removeLabDir(p.Name); err != nil {
		return fmt.Errorf("destroy %s: %w", p.Name, err)
	}
	destroyStep(p.Name, "drop claim")
	return m.dropClaim(p.Name) // last: until here, its names are still in use
}

// destroyStep logs a step of a destroy at debug level (--log-level debug).
func destroyStep(lab, step string) {
	slog.Debug("destroy step", "lab", lab, "step", step)
}

// shutdownGrace bounds each node's shutdown commands.
const shutdownGrace = 10 * time.Second

// runShutdown runs every live node's shutdown commands (Kathará's .shutdown
// files) before anything stops, in parallel across nodes, in order within
// one. A command that fails or overruns is reported and the destroy goes on.
func (m *Manager) runShutdown(st *State) {
	p := st.Plan
	forAll(teardownWorkers, len(p.Nodes), func(i int) error {
		n := &p.Nodes[i]
		m.runShutdownOf(p.Name, n, st.Nodes[n.Name])
		return nil
	})
}

// runShutdownOf runs one live node's shutdown commands (apply runs those
// of a node it removes).
func (m *Manager) runShutdownOf(lab string, n *topology.Node, ns *NodeState) {
	run := m.runner()
	if len(n.Shutdown) == 0 || ns == nil || ns.Pid <= 0 {
		return
	}
	if cur, err := run.StartTimeOf(ns.Pid); err != nil || cur != ns.StartTime {
		return // the node is gone: nothing to run it in
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, line := range n.Shutdown {
		code, out, err := run.Exec(ctx, m.socketPath(lab, n.Index), line)
		if err != nil || code != 0 {
			m.logf("node %s: shutdown %q: exit %d %v: %s", n.Name, line, code, err, out)
		}
	}
}

func nodeNames(p *topology.Plan) []string {
	out := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		out[i] = n.Name
	}
	return out
}

// stopNodes ends every init the state knows and any the state missed (a
// deploy killed between spawn and record), found by their command line.
func (m *Manager) stopNodes(st *State) error {
	names := make([]string, 0, len(st.Nodes))
	for name := range st.Nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	run := m.runner()
	// Inits mostly wait for the kernel to tear their namespaces down: stop
	// them side by side, not one after another.
	errs := multierror.Append(nil, forAll(teardownWorkers, len(names), func(i int) error {
		ns := st.Nodes[names[i]]
		if ns.Pid <= 0 {
			return nil
		}
		if err := gone(run.Stop(ns.Pid, ns.StartTime, stopGrace)); err != nil {
			return fmt.Errorf("node %s: %w", names[i], err)
		}
		return nil
	}))
	errs = multierror.Append(errs, gone(run.StopStrays(st.Plan.Name)))
	return errs.ErrorOrNil()
}

// removeHostSide deletes bridges, host veth ends and iptables chains (or the
// whole lab namespace of an isolated lab), and restores ip_forward.
func (m *Manager) removeHostSide(st *State) error {
	p := st.everything()
	net := m.network()
	var errs *multierror.Error
	if p.LabNetns != "" {
		errs = multierror.Append(errs, gone(net.DeleteLabNS(p.LabNetns)))
		return errs.ErrorOrNil()
	}
	host, err := net.OpenHost("")
	if err != nil {
		return fmt.Errorf("open host netns: %w", err)
	}
	defer host.Close()
	// Bridges in reverse of the order they were added.
	for i := len(p.Bridges) - 1; i >= 0; i-- {
		errs = multierror.Append(errs, gone(host.DeleteBridge(p.Bridges[i].Device)))
	}
	errs = multierror.Append(errs, gone(host.SweepLinks(hostnames.AliasPrefix(p.Name))))
	if p.Chain != "" {
		errs = multierror.Append(errs, gone(net.TeardownChain(p.Chain, false)))
		if p.HasIPv6() { // only labs with IPv6 write ip6tables rules
			errs = multierror.Append(errs, gone(net.TeardownChain(p.Chain, true)))
		}
	}
	errs = multierror.Append(errs, m.restoreForwardIfLast(p.Name))
	return errs.ErrorOrNil()
}

// otherLabsNAT reports whether a lab other than lab, under any root, uses
// NAT, and whether one uses NAT66. Callers hold lockClaimsAndForwarding.
func (m *Manager) otherLabsNAT(lab string) (nat, nat6 bool) {
	others, _ := m.states(lab)
	for _, o := range others {
		nat, nat6 = nat || o.NAT, nat6 || o.NAT6
	}
	claims, _ := m.liveClaims(lab)
	for _, c := range claims {
		nat, nat6 = nat || c.NAT, nat6 || c.NAT6
	}
	return nat, nat6
}

// removeNodeLayers removes the named nodes' layers (upper, work, copy).
func (m *Manager) removeNodeLayers(lab string, nodes []string) error {
	imgs := m.imageStore()
	return forAll(teardownWorkers, len(nodes), func(i int) error {
		return gone(imgs.RemoveNodeLayer(m.nodeDir(lab, nodes[i])))
	})
}

// removeLabDir removes the lab directory, then the state file, never
// crossing a mount point.
func (m *Manager) removeLabDir(lab string) error {
	dir := m.labDir(lab)
	state := m.statePath(lab)
	if err := rootfs.RemoveContents(dir, filepath.Base(state)); err != nil {
		return err
	}
	if err := os.Remove(state); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state: %w", err)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove lab dir: %w", err)
	}
	return nil
}

// sweepLab destroys a lab whose state file is missing or unreadable, by the
// names leolab derives from the lab name alone.
func (m *Manager) sweepLab(lab string) error {
	destroyStep(lab, "sweep by name (no readable state)")
	net, run := m.network(), m.runner()
	var errs *multierror.Error
	errs = multierror.Append(errs, run.StopStrays(lab))
	errs = multierror.Append(errs, sweepNetns(lab, m.claimedNetns(lab)))
	errs = multierror.Append(errs, gone(net.DeleteLabNS(hostnames.LabNetns(lab))))
	if host, err := net.OpenHost(""); err == nil {
		errs = multierror.Append(errs, host.SweepLinks(hostnames.AliasPrefix(lab)))
		host.Close()
	} else {
		errs = multierror.Append(errs, err)
	}
	errs = multierror.Append(errs, net.TeardownChain(hostnames.LabChain(lab), false))
	errs = multierror.Append(errs, net.TeardownChain(hostnames.LabChain(lab), true))
	errs = multierror.Append(errs, m.restoreForwardIfLast(lab))
	nodes := m.nodeDirNames(lab)
	for _, n := range nodes {
		errs = multierror.Append(errs, gone(run.RemoveCgroups(lab, n)))
	}
	errs = multierror.Append(errs, sweepCgroups(lab))
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("sweep %s: %w", lab, err)
	}
	if err := m.removeNodeLayers(lab, nodes); err != nil {
		return err
	}
	if err := m.removeLabDir(lab); err != nil {
		return err
	}
	return m.dropClaim(lab)
}

// claimedNetns lists LAB-NODE names that other labs' states own, so a
// sweep of lab "a" never removes lab "a-b"'s namespaces.
func (m *Manager) claimedNetns(lab string) map[string]bool {
	claimed := map[string]bool{}
	others, _ := m.states(lab)
	for _, st := range others {
		for _, n := range st.Plan.Nodes {
			claimed[hostnames.NodeNetns(st.Plan.Name, n.Name)] = true
		}
	}
	return claimed
}

func sweepNetns(lab string, claimed map[string]bool) error {
	entries, err := os.ReadDir(hostnames.NetnsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs *multierror.Error
	for _, e := range entries {
		if _, ok := hostnames.NodeOfNetns(lab, e.Name()); ok && !claimed[e.Name()] {
			errs = multierror.Append(errs, bridge.UnregisterNetns(e.Name()))
		}
	}
	return errs.ErrorOrNil()
}

func (m *Manager) nodeDirNames(lab string) []string {
	entries, err := os.ReadDir(hostnames.NodesDir(m.Root, lab))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// sweepOrphans removes leolab resources of labs that have no directory at
// all: inits, lab namespaces, links by alias, chains (destroy --all --cleanup).
func (m *Manager) sweepOrphans() error {
	known := map[string]bool{}
	names, _ := m.labNames()
	for _, n := range names {
		known[n] = true
	}
	labs, err := orphanLabNames(known)
	if err != nil {
		return err
	}
	var errs *multierror.Error
	for _, lab := range labs {
		if otherRootOf(lab, m.labDir(lab)) != "" {
			continue // a live lab of another --root on this host, not an orphan
		}
		errs = multierror.Append(errs, m.sweepLab(lab))
	}
	errs = multierror.Append(errs, sweepOrphanChains(known))
	return errs.ErrorOrNil()
}

// sweepOrphanChains removes LEOLAB-* iptables chains that belong to no lab
// with a directory under the root and to no lab with a live node anywhere
// (the lab name cannot be read back from the hashed chain name, so ownership
// is decided from the names of the labs that exist).
func sweepOrphanChains(known map[string]bool) error {
	chains, err := bridge.Chains()
	if err != nil {
		return err
	}
	chains6, err := bridge.Chains6()
	if err != nil {
		return err
	}
	owned := map[string]bool{}
	for lab := range known {
		owned[hostnames.LabChain(lab)] = true
	}
	for _, p := range node.FindInits() {
		owned[hostnames.LabChain(p.Lab)] = true // a live lab, perhaps under another --root
	}
	var errs *multierror.Error
	for _, c := range chains {
		if !owned[c] {
			errs = multierror.Append(errs, bridge.TeardownChain(c))
		}
	}
	for _, c := range chains6 {
		if !owned[c] {
			errs = multierror.Append(errs, bridge.TeardownChain6(c))
		}
	}
	return errs.ErrorOrNil()
}
