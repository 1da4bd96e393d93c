package labs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"leolab/node"
	"leolab/topology"
)

// PingResult is one node pinging another node's first address.
type PingResult struct {
	From, To string
	OK       bool
}

// PingAll makes every node ping every other node's first address once, in
// parallel (Mininet's pingall), and returns the results in node order.
func (m *Manager) PingAll(ctx context.Context, lab string, workers int) ([]PingResult, error) {
	views, err := m.Inspect([]string{lab})
	if err != nil {
		return nil, err
	}
	st, err := readState(m.statePath(views[0].Name))
	if err != nil {
		return nil, err
	}
	pairs := pingPairs(st.Plan)
	results := make([]PingResult, len(pairs))
	var mu sync.Mutex
	if workers <= 0 {
		workers = DefaultWorkers()
	}
	alive := map[string]bool{}
	for _, n := range views[0].Nodes {
		alive[n.Name] = n.State == "running"
	}
	err = forEach(ctx, workers, len(pairs), func(i int) error {
		from, to := pairs[i][0], pairs[i][1]
		if !alive[from.Name] || !alive[to.Name] {
			// A dead node's netns lives on in its bind mount and still
			// answers pings: it is not reached, whatever the kernel says.
			mu.Lock()
			results[i] = PingResult{From: from.Name, To: to.Name}
			mu.Unlock()
			return nil
		}
		code, err := node.Exec(ctx, m.socketPath(st.Plan.Name, from.Index), node.ExecOptions{
			Argv: []string{"ping", "-c", "1", "-W", "1", to.FirstAddr().String()},
		})
		mu.Lock()
		results[i] = PingResult{From: from.Name, To: to.Name, OK: err == nil && code == 0}
		mu.Unlock()
		return nil
	})
	return results, err
}

func pingPairs(p *topology.Plan) [][2]*topology.Node {
	var pairs [][2]*topology.Node
	for i := range p.Nodes {
		for j := range p.Nodes {
			if i != j && p.Nodes[j].FirstAddr().IsValid() {
				pairs = append(pairs, [2]*topology.Node{&p.Nodes[i], &p.Nodes[j]})
			}
		}
	}
	return pairs
}

// ANSI colours for PrintPingAll; callers decide whether the output is a
// terminal that wants them (NO_COLOR).
const (
	colorRed   = "\x1b[31m"
	colorGreen = "\x1b[32m"
	colorReset = "\x1b[0m"
)

// PrintPingAll writes a Mininet-style matrix and a loss summary, lost pings
// and a lossy summary in red and a clean one in green when color is set;
// it returns how many pings were lost.
func PrintPingAll(w io.Writer, results []PingResult, color bool) int {
	paint := func(s, c string) string {
		if !color {
			return s
		}
		return c + s + colorReset
	}
	var order []string
	seen := map[string]bool{}
	row := map[string][]string{}
	lost := 0
	for _, r := range results {
		if !seen[r.From] {
			seen[r.From] = true
			order = append(order, r.From)
		}
		mark := r.To
		if !r.OK {
			mark = paint("X", colorRed)
			lost++
		}
		row[r.From] = append(row[r.From], mark)
	}
	for _, n := range order {
		fmt.Fprintf(w, "%s -> %s\n", n, strings.Join(row[n], " "))
	}
	pct := 0.0
	if len(results) > 0 {
		pct = 100 * float64(lost) / float64(len(results))
	}
	summary := fmt.Sprintf("*** Results: %.0f%% dropped (%d/%d received)", pct, len(results)-lost, len(results))
	if lost > 0 {
		summary = paint(summary, colorRed)
	} else {
		summary = paint(summary, colorGreen)
	}
	fmt.Fprintln(w, summary)
	return lost
}
