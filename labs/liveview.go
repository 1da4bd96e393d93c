package labs

import (
	"context"
	"fmt"
	"os"
	"time"

	"leolab/node"
	"leolab/topology"
)

// Snapshot is what a live view (leolab ui) needs of one deployed lab, read
// from its state file once: the view inspect prints, the plan, where the
// lab's host-side devices live, and when the state file last changed.
type Snapshot struct {
	View     LabView
	Plan     *topology.Plan
	LabNetns string    // the isolated lab's namespace name; "" on the host
	Stamp    time.Time // the state file's modification time
	st       *State
	phase    string
}

// LabNames lists the labs that have a directory under the root, sorted.
func (m *Manager) LabNames() ([]string, error) { return m.labNames() }

// StateStamp is the modification time of lab's state file: a live view
// reads the state again only when it changes.
func (m *Manager) StateStamp(lab string) (time.Time, error) {
	fi, err := os.Stat(m.statePath(lab))
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// Snapshot reads a deployed lab's state.
func (m *Manager) Snapshot(lab string) (*Snapshot, error) {
	stamp, err := m.StateStamp(lab)
	if err != nil {
		return nil, fmt.Errorf("no lab named %s is deployed", lab)
	}
	st, err := m.runningState(lab)
	if err != nil {
		return nil, err
	}
	v := m.view(st)
	return &Snapshot{View: v, Plan: st.Plan, LabNetns: st.LabNetns, Stamp: stamp, st: st, phase: v.Phase}, nil
}

// NodeStates reads each node's state from the kernel again (its init is
// alive or not), without reading the state file.
func (s *Snapshot) NodeStates() map[string]string {
	out := make(map[string]string, len(s.Plan.Nodes))
	for _, n := range s.Plan.Nodes {
		out[n.Name] = "missing"
		if ns := s.st.Nodes[n.Name]; ns != nil && ns.Pid > 0 {
			out[n.Name] = nodeState(ns, s.phase)
		}
	}
	return out
}

// NetnsPath is where node's network namespace is registered.
func NetnsPath(lab, node string) string { return netnsPath(lab, node) }

// OpenTty starts argv on a pty in NODE (or LAB/NODE) for a caller that
// relays the terminal itself.
func (m *Manager) OpenTty(ctx context.Context, lab, target string, argv []string, rows, cols uint16) (*node.Tty, error) {
	lab, name, err := m.locateNode(lab, target)
	if err != nil {
		return nil, err
	}
	socket, err := os.Readlink(m.controlLink(lab, name))
	if err != nil {
		if dead := m.exitedNode(lab, name); dead != nil {
			return nil, dead
		}
		return nil, fmt.Errorf("node %s/%s is not running (its control socket is not there yet or any more)", lab, name)
	}
	return node.OpenTty(ctx, socket, argv, nil, rows, cols)
}
