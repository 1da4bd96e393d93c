package labs

import (
	"context"
	"sync"

	"leolab/labs/view"
	"leolab/node"
	"leolab/topology"
)

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
func (m *Manager) PingAll(ctx context.Context, lab string, workers int) ([]view.PingResult, error) {
	return m.PingAllFamilies(ctx, lab, workers, PingBoth)
}

// PingAllFamilies is PingAll over the families fam.
func (m *Manager) PingAllFamilies(ctx context.Context, lab string, workers int, fam Families) ([]view.PingResult, error) {
	views, err := m.Inspect([]string{lab})
	if err != nil {
		return nil, err
	}
	st, err := readState(m.statePath(views[0].Name))
	if err != nil {
		return nil, err
	}
	pairs := pingPairs(st.Plan, fam)
	results := make([]view.PingResult, len(pairs))
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
			results[i] = view.PingResult{From: from.Name, To: to.Name, IPv6: v6}
			mu.Unlock()
			return nil
		}
		argv := []string{"ping", "-c", "1", "-W", "1", to.FirstAddr().String()}
		if v6 {
			argv = []string{"ping", "-6", "-c", "1", "-W", "1", to.FirstAddr6().String()}
		}
		code, err := node.Exec(ctx, m.socketPath(st.Plan.Name, from.Index), node.ExecOptions{Argv: argv})
		mu.Lock()
		results[i] = view.PingResult{From: from.Name, To: to.Name, OK: err == nil && code == 0, IPv6: v6}
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
