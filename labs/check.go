package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"leolab/check"
	"leolab/node"
	"leolab/topology"
)

// CheckTarget is a running lab and the checks to run on it.
type CheckTarget struct {
	Lab    *check.Lab
	Checks []topology.Check
}

// LoadChecks finds the running lab (named by lab, or by the topology file
// file) and its checks: those of checksFile when set, else those of file
// when set, else those recorded at deploy. Checks are resolved against the
// running lab's plan; an invalid file gives topology.Errors.
func (m *Manager) LoadChecks(lab, file, checksFile string) (*CheckTarget, error) {
	var fileData []byte
	if file != "" {
		data, err := topology.ReadFile(file)
		if err != nil {
			return nil, err
		}
		plan, err := topology.Parse(file, data, topology.Options{})
		if err != nil {
			return nil, err
		}
		lab, fileData = plan.Name, data
	}
	st, err := m.runningState(lab)
	if err != nil {
		return nil, err
	}
	t := &CheckTarget{Lab: m.checkLab(st), Checks: st.Plan.Checks}
	switch {
	case checksFile != "":
		data, err := topology.ReadFile(checksFile)
		if err != nil {
			return nil, err
		}
		t.Checks, err = topology.ParseChecks(checksFile, data, st.Plan)
		if err != nil {
			return nil, err
		}
	case file != "":
		t.Checks, err = topology.ParseChecks(file, fileData, st.Plan)
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// runningState reads the state of a deployed lab.
func (m *Manager) runningState(lab string) (*State, error) {
	st, err := readState(m.statePath(lab))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no lab named %s is deployed", lab)
	}
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	return st, nil
}

// checkLab describes a running lab to package check.
func (m *Manager) checkLab(st *State) *check.Lab {
	lab := st.Plan.Name
	index := map[string]int{}
	for _, n := range st.Plan.Nodes {
		index[n.Name] = n.Index
	}
	return &check.Lab{
		Plan:  st.Plan,
		Netns: func(n string) string { return netnsPath(lab, n) },
		Pid: func(n string) int {
			if ns := st.Nodes[n]; ns != nil {
				return ns.Pid
			}
			return 0
		},
		Exec: func(ctx context.Context, n string, argv []string, out io.Writer) (int, error) {
			w := &lockedWriter{w: out}
			return node.Exec(ctx, m.socketPath(lab, index[n]), node.ExecOptions{Argv: argv, Stdout: w, Stderr: w})
		},
	}
}

// Trace follows a packet from node from (NODE or LAB/NODE) to to (a node,
// NODE:IFACE or an IPv4 address) through the running lab's kernel state.
func (m *Manager) Trace(ctx context.Context, lab, from, to string) (*check.Trace, error) {
	lab, name, err := m.locateNode(lab, from)
	if err != nil {
		return nil, err
	}
	st, err := m.runningState(lab)
	if err != nil {
		return nil, err
	}
	dst, err := st.Plan.Address(to)
	if err != nil {
		return nil, fmt.Errorf("trace to %w", err)
	}
	return check.RunTrace(ctx, m.checkLab(st), name, dst)
}

// CheckDeployed runs the checks a lab was deployed with (deploy --check),
// each retried for up to timeout, and returns their results for the caller
// to print; none when the lab has no checks. The lab stays up whatever they
// find, but when any fails the error says so.
func (m *Manager) CheckDeployed(ctx context.Context, lab string, timeout time.Duration) ([]check.Result, error) {
	st, err := m.runningState(lab)
	if err != nil {
		return nil, err
	}
	if len(st.Plan.Checks) == 0 {
		m.logf("lab %s has no checks: to run", st.Plan.Name)
		return nil, nil
	}
	m.logf("running %d checks (up to %s)", len(st.Plan.Checks), timeout)
	results := check.Run(ctx, m.checkLab(st), st.Plan.Checks, check.Options{Timeout: timeout})
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		return results, fmt.Errorf("lab %s is up, but %d of its %d checks failed (it is left running: leolab check --lab %s, leolab trace)",
			st.Plan.Name, failed, len(results), st.Plan.Name)
	}
	return results, nil
}
