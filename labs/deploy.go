package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"leolab/topology"
)

// DeployOptions are the flags of `leolab deploy`.
type DeployOptions struct {
	Reconfigure bool
	Isolated    bool
	MaxWorkers  int
	Rootfs      string              // overrides every node's rootfs
	Images      []topology.ImageMap // --image: registry images mapped to other rootfs
	Name        string              // --name: the lab's name, whatever the file says
	// Check runs the lab's checks after bring-up, each retried for up to
	// CheckTimeout; a failure fails the deploy but leaves the lab running.
	Check        bool
	CheckTimeout time.Duration
	// Host is the host whose share of a lab across hosts (hosts:) this
	// deploy brings up.
	Host string
}

// topologyOptions are the resolve options these deploy flags ask for.
func (o DeployOptions) topologyOptions() topology.Options {
	return topology.Options{RootfsOverride: o.Rootfs, Isolated: o.Isolated, Images: o.Images, Name: o.Name}
}

// Deploy validates file, plans it against the host and running labs, and
// brings the whole lab up. On any failure, or when ctx is cancelled
// (SIGINT/SIGTERM), everything created so far is removed.
func (m *Manager) Deploy(ctx context.Context, file string, opts DeployOptions) error {
	// Validate first, consulting nothing on the host: a bad file changes nothing.
	data, err := topology.ReadFile(file)
	if err != nil {
		return err
	}
	pre, err := topology.Parse(file, data, opts.topologyOptions())
	if err != nil {
		return err
	}
	if w := EmptyLabWarning(pre); w != "" {
		m.logf("%s", w)
	}
	if err := checkHostFlag(pre, opts.Host); err != nil {
		return err
	}
	for _, w := range pre.Warnings {
		m.logf("%s", w)
	}
	lock, err := m.lockLab(pre.Name)
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	if err := m.handleExisting(pre.Name, opts.Reconfigure); err != nil {
		return err
	}
	return m.deployLocked(ctx, file, data, pre.Name, opts, lock)
}

// deployLocked plans and brings up a lab that does not exist; the caller
// holds the lab's lock (released, marked gone, when a failed deploy has
// rolled back).
func (m *Manager) deployLocked(ctx context.Context, file string, data []byte, lab string, opts DeployOptions, lock *fileLock) error {
	st, err := m.planAndRecord(file, data, lab, opts)
	if err != nil {
		return err
	}
	if err := m.apply(ctx, st, opts); err != nil {
		m.logf("deploy of %s failed, rolling back", st.Plan.Name)
		if rbErr := m.teardown(st); rbErr != nil {
			err = fmt.Errorf("%w\nrollback: %v", err, rbErr)
		}
		lock.unlock(true)
		return err
	}
	if !m.Quiet {
		v := m.view(st)
		PrintTable(m.out(), []LabView{v})
	}
	if opts.Check {
		return m.runDeployChecks(ctx, st, opts)
	}
	return nil
}

// handleExisting refuses to deploy over a lab of the same name, unless
// reconfigure, in which case the old lab is destroyed first.
// The caller holds the lab's lock, so a state still saying "deploying" or
// "destroying" was left by a leolab process killed half-way.
func (m *Manager) handleExisting(lab string, reconfigure bool) error {
	st, err := readState(m.statePath(lab))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if !reconfigure {
		if err == nil && st.Phase != PhaseRunning {
			return fmt.Errorf("the last %s of lab %s was interrupted before it finished: run `leolab destroy --lab %s` to remove what it left, then deploy again (or deploy --reconfigure)",
				strings.TrimSuffix(st.Phase, "ing"), lab, lab)
		}
		return fmt.Errorf("lab %s is already deployed: use `leolab apply FILE` to change it in place (or deploy --reconfigure to start over)", lab)
	}
	m.logf("reconfigure: destroying lab %s", lab)
	return m.destroyLocked(lab)
}

// planAndRecord resolves the plan against the host and running labs under
// the global IPAM lock, and writes the state file before anything is
// created, so a crash from here on leaves a state destroy can finish.
func (m *Manager) planAndRecord(file string, data []byte, lab string, opts DeployOptions) (*State, error) {
	ipam, err := m.lockIPAM()
	if err != nil {
		return nil, err
	}
	defer ipam.unlock(false)
	others, err := m.states(lab)
	if err != nil {
		return nil, err
	}
	claims, err := m.liveClaims(lab)
	if err != nil {
		return nil, err
	}
	topts := opts.topologyOptions()
	if !opts.Isolated && opts.Host == "" {
		// A lab across hosts is planned from the file alone, so that every
		// host computes the same addresses; overlaps are refused below.
		topts.Host = hostView{others: others, claims: claims}
	}
	plan, err := topology.Parse(file, data, topts)
	if err != nil {
		return nil, err
	}
	plan.Isolated = opts.Isolated
	var remote []topology.Node
	if opts.Host != "" {
		if plan, remote, err = plan.Share(opts.Host); err != nil {
			return nil, err
		}
		if err := checkShareSubnets(plan, hostView{others: others, claims: claims}); err != nil {
			return nil, err
		}
	}
	if err := checkNetnsNames(plan, others); err != nil {
		return nil, err
	}
	st := &State{
		Version: stateVersion, Phase: PhaseDeploying, Created: time.Now().UTC(),
		Plan: plan, Nodes: map[string]*NodeState{}, Remote: remote,
	}
	if opts.Isolated {
		st.LabNetns = topology.LabNetnsName(plan.Name)
	} else {
		st.NATChain = topology.NATChain(plan.Name)
	}
	if err := checkHostNames(st, claims); err != nil {
		return nil, err
	}
	if n := userNSCount(plan); n > 0 {
		if err := checkTraversable(m.Root); err != nil {
			return nil, err
		}
		if st.UIDStart, err = allocUIDs(n, uidSpans(others, claims)); err != nil {
			return nil, err
		}
		st.UIDCount = n
	}
	// The claim goes first: a claim without a state file is stale and is
	// dropped by the next reader, a state without a claim would hide names.
	if err := m.writeClaim(st); err != nil {
		return nil, err
	}
	if err := makeLabDir(m.labsDir(), m.labDir(plan.Name)); err != nil {
		return nil, err
	}
	if err := writeState(m.statePath(plan.Name), st); err != nil {
		return nil, err
	}
	return st, nil
}

// checkNetnsNames refuses a plan whose LAB-NODE netns names another running
// lab already uses (lab "a" node "b-c" and lab "a-b" node "c").
func checkNetnsNames(plan *topology.Plan, others []*State) error {
	taken := map[string]string{}
	for _, st := range others {
		for _, n := range st.Plan.Nodes {
			taken[topology.NetnsName(st.Plan.Name, n.Name)] = st.Plan.Name
		}
	}
	for _, n := range plan.Nodes {
		name := topology.NetnsName(plan.Name, n.Name)
		if other, ok := taken[name]; ok {
			return fmt.Errorf("node %s: network namespace name %s is already used by lab %s", n.Name, name, other)
		}
	}
	return nil
}

// User-namespace id ranges: each user-namespace node gets idsPerNode host
// ids; a lab reserves one contiguous block for all of its such nodes, placed
// in the lowest gap left by the other running labs, so ranges never overlap.
const (
	uidFirst   = 1 << 20 // well above ordinary system and login ids
	uidLimit   = 1 << 31
	idsPerNode = 1 << 16
)

func userNSCount(p *topology.Plan) int {
	n := 0
	for _, nd := range p.Nodes {
		if nd.UserNamespace {
			n++
		}
	}
	return n
}

// uidSpan is a block of host ids [lo, hi) a lab's user-namespace nodes use.
type uidSpan struct{ lo, hi uint64 }

// uidSpans lists the id blocks of other labs: this root's states and every
// root's claims (a lab appears in both; overlaps are harmless).
func uidSpans(others []*State, claims []*Claim) []uidSpan {
	var used []uidSpan
	add := func(start uint32, count int) {
		if count > 0 {
			used = append(used, uidSpan{uint64(start), uint64(start) + uint64(count)*idsPerNode})
		}
	}
	for _, st := range others {
		add(st.UIDStart, st.UIDCount)
	}
	for _, c := range claims {
		add(c.UIDStart, c.UIDCount)
	}
	return used
}

// allocUIDs returns the start of a free block of count*idsPerNode ids.
func allocUIDs(count int, used []uidSpan) (uint32, error) {
	size := uint64(count) * idsPerNode
	sort.Slice(used, func(i, j int) bool { return used[i].lo < used[j].lo })
	start := uint64(uidFirst)
	for _, u := range used {
		if start+size <= u.lo {
			break
		}
		if u.hi > start {
			start = u.hi
		}
	}
	if start+size > uidLimit {
		return 0, fmt.Errorf("no free host id range for %d user-namespace nodes", count)
	}
	return uint32(start), nil
}

// nodeUIDBase is the first host id of the ordinal-th user-namespace node.
func (st *State) nodeUIDBase(ordinal int) uint32 {
	return st.UIDStart + uint32(ordinal)*idsPerNode
}

// logf reports a step of the whole operation on the progress stream.
// EmptyLabWarning is a warning for a lab without nodes, which validates
// and deploys (its bridges alone) but is most likely a mistake; "" for
// any other lab.
func EmptyLabWarning(p *topology.Plan) string {
	if len(p.Nodes) > 0 {
		return ""
	}
	return fmt.Sprintf("warning: lab %s has no nodes (nodes: is empty or missing); only its bridges are created", p.Name)
}

func (m *Manager) logf(format string, args ...any) {
	if m.Quiet || m.Progress == nil {
		return
	}
	fmt.Fprintf(m.Progress, format+"\n", args...)
}

// baseDir is the directory relative rootfs paths are resolved against.
func baseDir(p *topology.Plan) string {
	if p.File == "" {
		return "."
	}
	return filepath.Dir(p.File)
}

// nameLine is compiled on first use: a package-level regexp would be
// compiled at every start of the CLI (exec included), not only by destroy.
var nameLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^name:[ \t]*["']?([a-z][a-z0-9-]{0,19})["']?[ \t]*(#.*)?$`)
})

// PeekName finds the lab name of a topology file that no longer validates
// (destroy after an edit), or "".
func PeekName(file string) string {
	data, err := os.ReadFile(file)
	if err != nil || len(data) > 1<<20 {
		return ""
	}
	if m := nameLine().FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// makeLabDir creates the labs directory and one lab's directory, both mode
// 0711: user-namespace nodes (unmapped host root's files look foreign to
// them) must be able to traverse them to reach their root, not list them.
func makeLabDir(labsDir, labDir string) error {
	for _, dir := range []string{labsDir, labDir} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o711); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

// checkTraversable makes sure every directory from / to dir can be searched
// by others: a user-namespace node's root runs as an unmapped id on the host
// and must reach its root filesystem under dir.
func checkTraversable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("user_namespace nodes need the leolab root's parents searchable by others: %s is mode %o (chmod o+x it, or use another --root)", p, fi.Mode().Perm())
		}
		if p == "/" {
			return nil
		}
	}
}
