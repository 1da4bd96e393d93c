package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"
	"time"

	"leolab/node"
	"leolab/topology"
)

// ListEntry is one running lab for `leolab list`.
type ListEntry struct {
	Name     string    `json:"name"`
	Nodes    int       `json:"nodes"`
	Running  int       `json:"running"`
	Since    time.Time `json:"since"`
	Isolated bool      `json:"isolated"`
	Phase    string    `json:"phase"`
}

// List returns every lab with a readable state, sorted by name.
func (m *Manager) List() ([]ListEntry, error) {
	states, err := m.states("")
	if err != nil {
		return nil, err
	}
	out := []ListEntry{}
	for _, st := range states {
		v := m.view(st)
		e := ListEntry{Name: v.Name, Nodes: len(v.Nodes), Since: st.Created, Isolated: v.Isolated, Phase: st.Phase}
		for _, n := range v.Nodes {
			if n.State == "running" {
				e.Running++
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// PrintList writes one lab a line.
func PrintList(w io.Writer, entries []ListEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tNODES\tRUNNING\tSINCE\tISOLATED\tPHASE")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%v\t%s\n", e.Name, e.Nodes, e.Running,
			e.Since.Local().Format(time.DateTime), e.Isolated, e.Phase)
	}
	tw.Flush()
}

// Exec runs a command inside a node. target is NODE or LAB/NODE; lab, when
// set, picks the lab. It returns the command's exit status.
func (m *Manager) Exec(ctx context.Context, lab, target string, opts node.ExecOptions) (int, error) {
	st, n, err := m.resolveNode(lab, target)
	if err != nil {
		return 0, err
	}
	if len(opts.Env) == 0 {
		opts.Env = n.Env
	} else {
		opts.Env = append(append([]string{}, n.Env...), opts.Env...)
	}
	return node.Exec(ctx, m.socketPath(st.Plan.Name, n.Index), opts)
}

// resolveNode finds a node by NODE or LAB/NODE; a bare node name must be
// unambiguous among running labs.
func (m *Manager) resolveNode(lab, target string) (*State, *topology.Node, error) {
	if l, n, ok := strings.Cut(target, "/"); ok {
		lab, target = l, n
	}
	states, err := m.candidateStates(lab)
	if err != nil {
		return nil, nil, err
	}
	var matches []string
	var foundState *State
	var found *topology.Node
	for _, st := range states {
		if lab != "" && st.Plan.Name != lab {
			continue
		}
		for i := range st.Plan.Nodes {
			if st.Plan.Nodes[i].Name == target {
				matches = append(matches, st.Plan.Name+"/"+target)
				foundState, found = st, &st.Plan.Nodes[i]
			}
		}
	}
	switch len(matches) {
	case 0:
		if lab != "" {
			return nil, nil, fmt.Errorf("no node %s in lab %s", target, lab)
		}
		return nil, nil, fmt.Errorf("no node %s in any running lab", target)
	case 1:
		return foundState, found, nil
	default:
		return nil, nil, fmt.Errorf("node name %s is ambiguous: %s (use LAB/NODE or --lab)", target, strings.Join(matches, ", "))
	}
}

// candidateStates is the named lab's state alone, or every lab's when no
// lab is named (a bare node name must be unambiguous among all of them).
func (m *Manager) candidateStates(lab string) ([]*State, error) {
	if lab == "" {
		return m.states("")
	}
	st, err := readState(m.statePath(lab))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // reported as "no node X in lab L"
	}
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	return []*State{st}, nil
}
