package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"leolab/topology"
)

// ApplyOptions are the flags of `leolab apply`.
type ApplyOptions struct {
	MaxWorkers int
	Isolated   bool                // deploy --isolated, for a lab apply deploys; a running lab keeps its own
	Rootfs     string              // overrides every node's rootfs, as deploy --rootfs
	Images     []topology.ImageMap // --image, as deploy's
	Name       string              // --name, as deploy's
	DryRun     bool                // print the difference, change nothing
	// Show is given the difference before anything changes (cmd prints it).
	// For a lab that is not running, the difference is the whole file.
	Show func(lab string, d *topology.Diff)
}

func (o ApplyOptions) deployOptions() DeployOptions {
	return DeployOptions{MaxWorkers: o.MaxWorkers, Isolated: o.Isolated, Rootfs: o.Rootfs, Images: o.Images, Name: o.Name}
}

func (o ApplyOptions) show(lab string, d *topology.Diff) {
	if o.Show != nil {
		o.Show(lab, d)
	}
}

// Apply turns the running lab of file's name into file's plan, changing
// only what differs; a lab that is not running is deployed. A failed
// change is rolled back; an apply killed half-way is finished by the next
// apply (or removed by destroy).
func (m *Manager) Apply(ctx context.Context, file string, opts ApplyOptions) error {
	// Validate first, consulting nothing on the host: a bad file changes
	// nothing.
	data, err := topology.ReadFile(file)
	if err != nil {
		return err
	}
	dec, err := topology.Decode(file, data, opts.deployOptions().topologyOptions())
	if err != nil {
		return err
	}
	pre := dec.Draft
	lock, err := m.lockLab(pre.Name)
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	st, err := readState(m.statePath(pre.Name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		opts.show(pre.Name, topology.Compare(&topology.Plan{Name: pre.Name, Isolated: pre.Isolated}, pre))
		if opts.DryRun {
			return nil
		}
		m.logf("lab %s is not running: deploying it", pre.Name)
		_, err := m.deployLocked(ctx, dec, opts.deployOptions(), lock)
		return err
	case err != nil:
		return fmt.Errorf("%w: run `leolab destroy --lab %s`, then apply again", err, pre.Name)
	case st.Phase != PhaseRunning:
		if opts.DryRun {
			return fmt.Errorf("the last %s of lab %s was interrupted: apply would remove what it left and deploy the file", st.Phase, pre.Name)
		}
		m.logf("the last %s of lab %s was interrupted: removing what it left, then deploying", st.Phase, pre.Name)
		if err := m.destroyLocked(pre.Name); err != nil {
			return err
		}
		_, err := m.deployLocked(ctx, dec, opts.deployOptions(), lock)
		return err
	}
	if st.Plan.Isolated != pre.Isolated {
		// A running lab stays as isolated as it was deployed: the file is
		// read as such.
		o := opts.deployOptions().topologyOptions()
		o.Isolated = st.Plan.Isolated
		if dec, err = topology.Decode(file, data, o); err != nil {
			return err
		}
	}
	return m.applyRunning(ctx, dec, st, opts)
}

func (m *Manager) applyRunning(ctx context.Context, dec *topology.Decoded, st *State, opts ApplyOptions) error {
	if len(st.Plan.Hosts) > 0 {
		return fmt.Errorf("lab %s spans hosts: apply cannot change a lab across hosts yet (deploy --reconfigure each host's share)", st.Plan.Name)
	}
	target, err := m.planApply(dec, st)
	if err != nil {
		return err
	}
	pc := m.planChange(st, target)
	if err := refuseApply(pc); err != nil {
		return err
	}
	opts.show(st.Plan.Name, pc.diff)
	if opts.DryRun {
		return nil
	}
	if pc.diff.Empty() && st.Pending == nil {
		m.logf("lab %s: no changes", st.Plan.Name)
		return nil
	}
	old := st.Plan
	if err := m.converge(ctx, st, pc, opts.MaxWorkers); err != nil {
		m.logf("apply of %s failed, rolling back", st.Plan.Name)
		// A fresh context: an interrupted apply is rolled back all the same.
		back := m.planChange(st, old)
		if rbErr := m.converge(context.Background(), st, back, opts.MaxWorkers); rbErr != nil {
			return fmt.Errorf("%w\nrollback: %v (the next apply or destroy finishes it)", err, rbErr)
		}
		return err
	}
	m.logf("lab %s: %d changes applied", st.Plan.Name, len(pc.diff.Changes))
	return nil
}

// planApply resolves the decoded file against the host, the other labs and
// the running lab, whose subnets and addresses it keeps (sticky), whose
// node indexes it keeps, and whose host id block it keeps.
func (m *Manager) planApply(dec *topology.Decoded, st *State) (*topology.Plan, error) {
	lock, err := m.lockClaimsAndForwarding()
	if err != nil {
		return nil, err
	}
	defer lock.unlock(false)
	lab := st.Plan.Name
	if dec.Name() != lab {
		return nil, fmt.Errorf("file names lab %s, running lab is %s", dec.Name(), lab)
	}
	others, err := m.states(lab)
	if err != nil {
		return nil, err
	}
	claims, err := m.liveClaims(lab)
	if err != nil {
		return nil, err
	}
	host := hostView{others: others, claims: claims, own: st.everything().Subnets()}
	plan, err := topology.Resolve(dec, topology.Env{Host: host, Previous: st.Plan})
	if err != nil {
		return nil, err
	}
	plan.KeepIndexes(st.everything())
	if plan.UIDs.Count <= st.Plan.UIDs.Count {
		plan.UIDs = st.Plan.UIDs // the lab's own block, big enough
	}
	fresh := newOnly(st.everything(), plan)
	if err := checkHostNames(&State{Plan: fresh}, claims); err != nil {
		return nil, err
	}
	return plan, nil
}

// newOnly is the part of plan (nodes and bridges) base does not have, as
// names the host checks: an isolated lab's devices are in its own
// namespace (which exists already), so only node namespaces count.
func newOnly(base, plan *topology.Plan) *topology.Plan {
	out := &topology.Plan{Name: plan.Name, Isolated: plan.Isolated, Chain: plan.Chain}
	for _, n := range plan.Nodes {
		if base.Node(n.Name) == nil {
			if plan.Isolated {
				n.Interfaces = nil
			}
			out.Nodes = append(out.Nodes, n)
		}
	}
	for _, b := range plan.Bridges {
		if !bridgeIn(base, b.Name) && !plan.Isolated {
			out.Bridges = append(out.Bridges, b)
		}
	}
	return out
}

// refuseApply names what apply cannot change in place.
func refuseApply(pc *plannedChange) error {
	for _, c := range pc.diff.Changes {
		if c.What == "lab" {
			return fmt.Errorf("lab %s: %s", c.Name, c.Detail)
		}
	}
	for _, name := range append(append([]string(nil), pc.diff.AddNodes...), pc.diff.RecreateNodes...) {
		if n := pc.target.Node(name); n != nil && n.UserNamespace {
			return fmt.Errorf("node %s: apply cannot start user_namespace nodes yet (their host id block is fixed at deploy): use deploy --reconfigure", name)
		}
	}
	return nil
}

// converge makes pc's change: the intent recorded first (State.Pending,
// the claim and /etc/hosts of the target), then the reconciler's steps,
// then the result recorded. On failure Pending stays set: the caller rolls
// back by converging to the previous plan.
func (m *Manager) converge(ctx context.Context, st *State, pc *plannedChange, workers int) error {
	r := m.newReconciler(st, pc, workers)
	defer r.d.progress.done()
	defer r.d.close()
	if err := r.prepareImages(ctx); err != nil {
		return err
	}
	st.Pending = &PendingChange{Target: pc.target}
	whole := *st
	whole.Plan = st.everything()
	if err := m.writeClaim(&whole); err != nil {
		return err
	}
	if err := writeState(m.statePath(st.Plan.Name), st); err != nil {
		return err
	}
	if err := r.d.writeHosts(ctx, r.pt); err != nil { // the engine's, over the target plan
		return err
	}
	if err := r.run(ctx); err != nil {
		return err
	}
	st.Plan, st.Pending = pc.target, nil
	if err := writeState(m.statePath(st.Plan.Name), st); err != nil {
		return err
	}
	return m.writeClaim(st) // narrower now: names of what went are free
}
