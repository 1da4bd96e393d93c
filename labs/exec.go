package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"leolab/internal/labdir"
	"leolab/labs/view"
	"leolab/node"
	"leolab/topology"
)

// List returns every lab with a readable state, sorted by name.
func (m *Manager) List() ([]view.ListEntry, error) {
	states, err := m.states("")
	if err != nil {
		return nil, err
	}
	out := []view.ListEntry{}
	for _, st := range states {
		v := m.labView(st)
		e := view.ListEntry{Name: v.Name, Nodes: len(v.Nodes), Since: st.Created, Isolated: v.Isolated, Phase: v.Phase}
		for _, n := range v.Nodes {
			if n.State == "running" {
				e.Running++
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// Exec runs a command inside a node. target is NODE or LAB/NODE; lab, when
// set, picks the lab. It returns the command's exit status. The node is found
// by its directory and its control link, never by reading lab states: exec
// costs the same in a 4-node lab and among 1000-node ones. The node's own
// environment is applied by its init.
func (m *Manager) Exec(ctx context.Context, lab, target string, opts node.ExecOptions) (int, error) {
	lab, name, err := m.locateNode(lab, target)
	if err != nil {
		return 0, err
	}
	socket, err := os.Readlink(m.controlLink(lab, name))
	if err != nil {
		if dead := m.exitedNode(lab, name); dead != nil {
			return 0, dead
		}
		return 0, fmt.Errorf("node %s/%s is not running (its control socket is not there yet or any more)", lab, name)
	}
	code, err := node.Exec(ctx, socket, opts)
	if err != nil && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist)) {
		if dead := m.exitedNode(lab, name); dead != nil {
			return 0, dead
		}
	}
	return code, err
}

// exitedNode returns an error saying that node's init has exited (and how,
// when the kernel still knows), or nil when it runs or cannot be told.
// Only the failure path reads the lab's state: a working exec never does.
func (m *Manager) exitedNode(lab, name string) error {
	st, err := readState(m.statePath(lab))
	if err != nil {
		return nil
	}
	ns := st.Nodes[name]
	if ns == nil || ns.Pid <= 0 || node.Alive(ns.Pid, ns.StartTime) {
		return nil
	}
	msg := fmt.Sprintf("node %s has exited", name)
	if cause := node.ExitCause(ns.Pid, ns.StartTime); cause != "" {
		msg += " (its init was " + cause + ")"
	}
	return fmt.Errorf("%s; `leolab destroy --lab %s` removes what is left of lab %s", msg, lab, lab)
}

// resolveNode finds a node by NODE or LAB/NODE and reads its lab's state.
func (m *Manager) resolveNode(lab, target string) (*State, *topology.Node, error) {
	lab, name, err := m.locateNode(lab, target)
	if err != nil {
		return nil, nil, err
	}
	st, err := readState(m.statePath(lab))
	if err != nil {
		return nil, nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	for i := range st.Plan.Nodes {
		if st.Plan.Nodes[i].Name == name {
			return st, &st.Plan.Nodes[i], nil
		}
	}
	return nil, nil, fmt.Errorf("no node %s in lab %s", name, lab)
}

// locateNode finds the lab of NODE or LAB/NODE (lab, when set, picks it)
// from the node directories deploy creates and destroy removes. A bare
// node name must be unambiguous among the labs.
func (m *Manager) locateNode(lab, target string) (string, string, error) {
	node, found, err := labdir.Locate(m.Root, lab, target)
	switch {
	case errors.Is(err, labdir.ErrNotNodeName):
		return "", "", fmt.Errorf("%q is not a node name (NODE or LAB/NODE)", target)
	case err != nil:
		return "", "", fmt.Errorf("read labs: %w", err)
	}
	if l, _, ok := labdir.SplitTarget(target); ok {
		lab = l
	}
	if len(found) == 0 {
		if err := m.remoteHint(lab, node); err != nil {
			return "", "", err
		}
	}
	switch {
	case len(found) == 1:
		return found[0], node, nil
	case len(found) == 0 && lab != "":
		return "", "", fmt.Errorf("no node %s in lab %s", node, lab)
	case len(found) == 0:
		return "", "", fmt.Errorf("no node %s in any running lab", node)
	}
	for i := range found {
		found[i] += "/" + node
	}
	return "", "", fmt.Errorf("node name %s is ambiguous: %s (use LAB/NODE or --lab)", node, strings.Join(found, ", "))
}
