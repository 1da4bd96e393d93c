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

// PingResult is one node pinging another node's first address (its first
// IPv6 address when IPv6 is set).
type PingResult struct {
	From, To string
	OK       bool
	IPv6     bool
}

// Families selects the address families pingall uses.
type Families int

// PingBoth pings each node's first IPv4 and first IPv6 address (those it
// has); Ping4 and Ping6 one family only.
const (
	PingBoth Families = iota
	Ping4
	Ping6
)

// PingAll makes every node ping every other node's first address once (of
// each family, in a dual-stack lab), in parallel (Mininet's pingall), and
// returns the results in node order, IPv4 before IPv6.
func (m *Manager) PingAll(ctx context.Context, lab string, workers int) ([]PingResult, error) {
	return m.PingAllFamilies(ctx, lab, workers, PingBoth)
}

// PingAllFamilies is PingAll over the families fam.
func (m *Manager) PingAllFamilies(ctx context.Context, lab string, workers int, fam Families) ([]PingResult, error) {
	views, err := m.Inspect([]string{lab})
	if err != nil {
		return nil, err
	}
	st, err := readState(m.statePath(views[0].Name))
	if err != nil {
		return nil, err
	}
	pairs := pingPairs(st.Plan, fam)
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
		from, to, v6 := pairs[i].from, pairs[i].to, pairs[i].v6
		if !alive[from.Name] || !alive[to.Name] {
			// A dead node's netns lives on in its bind mount and still
			// answers pings: it is not reached, whatever the kernel says.
			mu.Lock()
			results[i] = PingResult{From: from.Name, To: to.Name, IPv6: v6}
			mu.Unlock()
			return nil
		}
		argv := []string{"ping", "-c", "1", "-W", "1", to.FirstAddr().String()}
		if v6 {
			argv = []string{"ping", "-6", "-c", "1", "-W", "1", to.FirstAddr6().String()}
		}
		code, err := node.Exec(ctx, m.socketPath(st.Plan.Name, from.Index), node.ExecOptions{Argv: argv})
		mu.Lock()
		results[i] = PingResult{From: from.Name, To: to.Name, OK: err == nil && code == 0, IPv6: v6}
		mu.Unlock()
		return nil
	})
	return results, err
}

type pingPair struct {
	from, to *topology.Node
	v6       bool
}

// pingPairs lists every ordered pair of nodes whose target has an address
// of the family, IPv4 pairs first.
func pingPairs(p *topology.Plan, fam Families) []pingPair {
	var pairs []pingPair
	for _, v6 := range []bool{false, true} {
		if (v6 && fam == Ping4) || (!v6 && fam == Ping6) {
			continue
		}
		for i := range p.Nodes {
			for j := range p.Nodes {
				to := &p.Nodes[j]
				has := to.FirstAddr().IsValid()
				if v6 {
					has = to.FirstAddr6().IsValid()
				}
				if i != j && has {
					pairs = append(pairs, pingPair{&p.Nodes[i], to, v6})
				}
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
// it returns how many pings were lost. With IPv6 results, the IPv4 and
// IPv6 rows come under "IPv4:" and "IPv6:" lines.
func PrintPingAll(w io.Writer, results []PingResult, color bool) int {
	any6 := false
	for _, r := range results {
		any6 = any6 || r.IPv6
	}
	paint := func(s, c string) string {
		if !color {
			return s
		}
		return c + s + colorReset
	}
	type rowKey struct {
		from string
		v6   bool
	}
	var order []rowKey
	seen := map[rowKey]bool{}
	row := map[rowKey][]string{}
	lost := 0
	for _, r := range results {
		k := rowKey{r.From, r.IPv6}
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
		mark := r.To
		if !r.OK {
			mark = paint("X", colorRed)
			lost++
		}
		row[k] = append(row[k], mark)
	}
	for i, k := range order {
		if any6 && (i == 0 || order[i-1].v6 != k.v6) {
			fmt.Fprintln(w, map[bool]string{false: "IPv4:", true: "IPv6:"}[k.v6])
		}
		fmt.Fprintf(w, "%s -> %s\n", k.from, strings.Join(row[k], " "))
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
