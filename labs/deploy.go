package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"leolab/labs/view"
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
	// Host is the host whose share of a lab across hosts (hosts:) this
	// deploy brings up.
	Host string
}

// topologyOptions are the resolve options these deploy flags ask for.
func (o DeployOptions) topologyOptions() topology.Options {
	return topology.Options{RootfsOverride: o.Rootfs, Isolated: o.Isolated, Images: o.Images, Name: o.Name}
}

// Deploy validates file, plans it against the host and running labs, and
// brings the whole lab up; it returns the running lab as inspect shows it.
// On any failure, or when ctx is cancelled (SIGINT/SIGTERM), everything
// created so far is removed.
func (m *Manager) Deploy(ctx context.Context, file string, opts DeployOptions) (view.Lab, error) {
	// Validate first, consulting nothing on the host: a bad file changes
	// nothing. The file is read and parsed here, once.
	data, err := topology.ReadFile(file)
	if err != nil {
		return view.Lab{}, err
	}
	dec, err := topology.Decode(file, data, opts.topologyOptions())
	if err != nil {
		return view.Lab{}, err
	}
	pre := dec.Draft
	if w := EmptyLabWarning(pre); w != "" {
		m.logf("%s", w)
	}
	if err := checkHostFlag(pre, opts.Host); err != nil {
		return view.Lab{}, err
	}
	for _, w := range pre.Warnings {
		m.logf("%s", w)
	}
	lock, err := m.lockLab(pre.Name)
	if err != nil {
		return view.Lab{}, err
	}
	defer lock.unlock(false)
	if err := m.handleExisting(pre.Name, opts.Reconfigure); err != nil {
		return view.Lab{}, err
	}
	return m.deployLocked(ctx, dec, opts, lock)
}

// deployLocked plans and brings up a lab that does not exist; the caller
// holds the lab's lock (released, marked gone, when a failed deploy has
// rolled back).
func (m *Manager) deployLocked(ctx context.Context, dec *topology.Decoded, opts DeployOptions, lock *fileLock) (view.Lab, error) {
	st, err := m.planAndRecord(dec, opts)
	if err != nil {
		return view.Lab{}, err
	}
	if err := m.deployOrRollback(ctx, st, opts); err != nil {
		lock.unlock(true)
		return view.Lab{}, err
	}
	return m.labView(st), nil
}

// deployOrRollback brings up the lab st records; on any failure, or when
// ctx is cancelled, it removes everything created so far.
func (m *Manager) deployOrRollback(ctx context.Context, st *State, opts DeployOptions) error {
	err := m.runDeployment(ctx, st, opts)
	if err == nil {
		return nil
	}
	m.logf("deploy of %s failed, rolling back", st.Plan.Name)
	if rbErr := m.teardown(st); rbErr != nil {
		err = fmt.Errorf("%w\nrollback: %v", err, rbErr)
	}
	return err
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

// planAndRecord resolves the decoded file against the host and running labs
// under lockClaimsAndForwarding, and writes the state file before anything
// is created, so a crash from here on leaves a state destroy can finish.
func (m *Manager) planAndRecord(dec *topology.Decoded, opts DeployOptions) (*State, error) {
	lock, err := m.lockClaimsAndForwarding()
	if err != nil {
		return nil, err
	}
	defer lock.unlock(false)
	others, err := m.states(dec.Name())
	if err != nil {
		return nil, err
	}
	claims, err := m.liveClaims(dec.Name())
	if err != nil {
		return nil, err
	}
	plan, err := topology.Resolve(dec, topology.Env{Host: hostView{others: others, claims: claims}, LocalHost: opts.Host})
	if err != nil {
		return nil, err
	}
	st := &State{
		Version: stateVersion, Phase: PhaseDeploying, Created: time.Now().UTC(),
		Plan: plan, Nodes: map[string]*NodeState{},
	}
	if err := checkHostNames(st, claims); err != nil {
		return nil, err
	}
	if plan.UIDs.Count > 0 {
		if err := checkTraversable(m.Root); err != nil {
			return nil, err
		}
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

// nodeUIDBase is the first host id of the ordinal-th user-namespace node.
func (st *State) nodeUIDBase(ordinal int) uint32 {
	return st.Plan.UIDs.NodeBase(ordinal)
}

// EmptyLabWarning is a warning for a lab without nodes, which validates
// and deploys (its bridges alone) but is most likely a mistake; "" for
// any other lab.
func EmptyLabWarning(p *topology.Plan) string {
	if len(p.Nodes) > 0 {
		return ""
	}
	return fmt.Sprintf("warning: lab %s has no nodes (nodes: is empty or missing); only its bridges are created", p.Name)
}

// logf reports a step of the whole operation on the progress stream (not
// through slog: it is the user's output, which -q silences).
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

// PeekName finds the lab name in the contents of a topology file that no
// longer validates (destroy after an edit), or "".
func PeekName(data []byte) string {
	if len(data) > topology.MaxFileSize {
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
