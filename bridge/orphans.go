package bridge

import (
	"fmt"
	"sort"
	"strings"

	"leolab/internal/hostnames"
)

// Chains lists the leolab chains present in the nat and filter tables of
// every installed iptables backend (for destroy --all --cleanup, which
// removes those no lab owns). Equivalent to: iptables -t T -S | grep LEOLAB-
func Chains() ([]string, error) {
	paths, err := teardownBackends()
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, p := range paths {
		ipt, err := newIPTables(p)
		if err != nil {
			return nil, err
		}
		for _, table := range []string{"nat", "filter"} {
			if isLegacy(p) && !legacyTableLoaded(table) {
				continue // listing it would create it
			}
			chains, err := ipt.ListChains(table)
			if err != nil {
				return nil, fmt.Errorf("%s: list %s chains: %w", p, table, err)
			}
			for _, c := range chains {
				if strings.HasPrefix(c, hostnames.ChainPrefix) {
					found[c] = true
				}
			}
		}
	}
	out := make([]string, 0, len(found))
	for c := range found {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}
