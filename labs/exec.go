package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
		return 0, fmt.Errorf("node %s/%s is not running (its control socket is not there yet or any more)", lab, name)
	}
	return node.Exec(ctx, socket, opts)
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
	given := target
	if l, n, ok := strings.Cut(target, "/"); ok {
		lab, target = l, n
	}
	if !pathSafeName(target) || (lab != "" && !pathSafeName(lab)) {
		return "", "", fmt.Errorf("%q is not a node name (NODE or LAB/NODE)", given)
	}
	if lab != "" {
		if !m.hasNodeDir(lab, target) {
			return "", "", fmt.Errorf("no node %s in lab %s", target, lab)
		}
		return lab, target, nil
	}
	entries, err := os.ReadDir(m.labsDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("read labs: %w", err)
	}
	var matches []string
	for _, e := range entries {
		if e.IsDir() && m.hasNodeDir(e.Name(), target) {
			matches = append(matches, e.Name())
		}
	}
	switch len(matches) {
	case 0:
		return "", "", fmt.Errorf("no node %s in any running lab", target)
	case 1:
		return matches[0], target, nil
	default:
		for i := range matches {
			matches[i] += "/" + target
		}
		return "", "", fmt.Errorf("node name %s is ambiguous: %s (use LAB/NODE or --lab)", target, strings.Join(matches, ", "))
	}
}

func (m *Manager) hasNodeDir(lab, name string) bool {
	fi, err := os.Lstat(m.nodeDir(lab, name))
	return err == nil && fi.IsDir()
}

// pathSafeName: a name that stays one path element when joined (node and
// lab names are validated much more strictly at deploy).
func pathSafeName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}
