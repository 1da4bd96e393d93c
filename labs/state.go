package labs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"

	"leolab/internal/atomicfile"
	"leolab/topology"
)

// Lab phases recorded in the state file.
const (
	PhaseDeploying  = "deploying"
	PhaseRunning    = "running"
	PhaseDestroying = "destroying"
	// PhaseInterrupted is never written: it is what list and inspect show
	// for a lab recorded as deploying or destroying whose lock nobody
	// holds, i.e. whose deploy or destroy was killed before it finished.
	PhaseInterrupted = "interrupted"
)

// phaseOf is st's phase as it is now: a deploy or destroy that no process
// is running any more was interrupted.
func (m *Manager) phaseOf(st *State) string {
	if st.Phase != PhaseRunning && !m.labBusy(st.Plan.Name) {
		return PhaseInterrupted
	}
	return st.Phase
}

// State is what a lab's state.json holds: the Plan, the lab's whole desired
// state (every device, netns, chain, directory and cgroup name, its id
// block and its host-side choices follow from it), plus what was actually
// done that cannot be derived (pids with start times, image digests,
// whether forwarding was saved to be restored). It is written before
// anything is created, so a deploy killed at any instant leaves a state
// destroy can finish.
type State struct {
	Version int            `json:"version"`
	Phase   string         `json:"phase"`
	Created time.Time      `json:"created"`
	Plan    *topology.Plan `json:"plan"`
	// NAT and NAT6: IPv4 (IPv6) forwarding was saved for this lab and is
	// held on while it runs; set just before the deploy turns it on.
	NAT    bool                  `json:"nat,omitempty"`
	NAT6   bool                  `json:"nat6,omitempty"`
	Nodes  map[string]*NodeState `json:"nodes"`
	Images map[string]string     `json:"images,omitempty"` // source → digest
	// Pending is the change an apply is making (reconcile.go): written
	// before its first step, cleared with its last. While it is set, what
	// runs lies between Plan and Pending.Target, so destroy removes both.
	Pending *PendingChange `json:"pending,omitempty"`
}

// PendingChange is an apply in progress: the plan it turns the lab into.
type PendingChange struct {
	Target *topology.Plan `json:"target"`
}

// legacyState holds the decisions a state written by an older leolab kept
// beside its plan; readState moves them into the plan.
type legacyState struct {
	LabNetns string          `json:"lab_netns"`
	NATChain string          `json:"nat_chain"`
	UIDStart uint32          `json:"uid_start"`
	UIDCount int             `json:"uid_count"`
	Remote   []topology.Node `json:"remote"`
}

// migrate moves an older state's decisions into its plan; a current state
// has none, so it is left as it is.
func (st *State) migrate(old legacyState) {
	p := st.Plan
	if old.LabNetns == "" && old.NATChain == "" && old.UIDCount == 0 && old.Remote == nil {
		return
	}
	p.LabNetns, p.Chain, p.Remote = old.LabNetns, old.NATChain, old.Remote
	p.UIDs = topology.UIDBlock{Start: old.UIDStart, Count: old.UIDCount}
	p.CompleteRecorded()
}

// NodeState is what was created for one node and cannot be derived from
// the Plan: its init's pid and start time (so a recycled pid is never
// signalled). Rootfs digests are in State.Images, user-namespace ids follow
// from Plan.UIDs.
type NodeState struct {
	Pid       int    `json:"pid,omitempty"`
	StartTime uint64 `json:"start_time,omitempty"`
}

const stateVersion = 1

// readState loads a lab's state file. A missing file is fs.ErrNotExist; a
// truncated or garbage file is errBadState (destroy then sweeps by name).
func readState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// One decode fills both: the legacy keys are none of State's.
	var file struct {
		State
		legacyState
	}
	if err := json.Unmarshal(data, &file); err != nil || file.Plan == nil || file.Plan.Name == "" {
		return nil, fmt.Errorf("%w: %s", errBadState, path)
	}
	st := file.State
	st.migrate(file.legacyState)
	if st.Nodes == nil {
		st.Nodes = map[string]*NodeState{}
	}
	return &st, nil
}

var errBadState = errors.New("unreadable state file")

// writeState replaces path atomically and durably: temp file in the same
// directory, fsync, rename, fsync the directory.
func writeState(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return atomicfile.Write(path, data)
}

// labNames lists the labs that have a directory under the root, sorted.
func (m *Manager) labNames() ([]string, error) {
	entries, err := os.ReadDir(m.labsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list labs: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// states loads every readable lab state, skipping the lab named except.
func (m *Manager) states(except string) ([]*State, error) {
	names, err := m.labNames()
	if err != nil {
		return nil, err
	}
	var out []*State
	for _, n := range names {
		if n == except {
			continue
		}
		st, err := readState(m.statePath(n))
		if err != nil {
			continue // a lab without a readable state holds no reservations
		}
		out = append(out, st)
	}
	return out, nil
}
