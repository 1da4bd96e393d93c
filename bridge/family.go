package bridge

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"github.com/hashicorp/go-multierror"

	"leolab/internal/hostnames"
	"leolab/internal/sysctl"
	"leolab/topology"
)

// ipFamily is what differs between the IPv4 rules (iptables) and the IPv6
// ones (ip6tables) of a lab; everything else is written once, below.
type ipFamily struct {
	bin         string // iptables or ip6tables: the binaries' prefix
	proto       iptables.Protocol
	selected    func() (string, error) // the binary $LEOLAB_IPTABLES selects
	legacyNames string                 // the legacy backend's list of loaded tables
	forwardKey  string                 // the sysctl NAT turns on
}

var (
	ipv4 = ipFamily{"iptables", iptables.ProtocolIPv4, IPTablesPath,
		"/proc/thread-self/net/ip_tables_names", ipForwardKey}
	ipv6 = ipFamily{"ip6tables", iptables.ProtocolIPv6, IP6TablesPath,
		"/proc/thread-self/net/ip6_tables_names", ip6ForwardKey}
)

func (f ipFamily) open(path string) (*iptables.IPTables, error) {
	ipt, err := iptables.New(iptables.IPFamily(f.proto), iptables.Path(path), iptables.Timeout(lockWait))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", f.bin, path, err)
	}
	return ipt, nil
}

func (f ipFamily) openSelected() (*iptables.IPTables, error) {
	p, err := f.selected()
	if err != nil {
		return nil, err
	}
	return f.open(p)
}

// setupNAT writes chain in the nat table: MASQUERADE of each of nat's
// subnets (as subnet picks them) towards anything outside it, and one jump
// from POSTROUTING; then it turns forwarding on.
func (f ipFamily) setupNAT(lab, chain string, nat []topology.Bridge, subnet func(topology.Bridge) netip.Prefix) error {
	if len(nat) == 0 {
		return nil
	}
	ipt, err := f.openSelected()
	if err != nil {
		return err
	}
	if err := ipt.ClearChain("nat", chain); err != nil {
		return fmt.Errorf("create %s nat chain %s: %w", f.bin, chain, err)
	}
	for _, b := range nat {
		if err := masquerade(ipt, lab, chain, subnet(b), b.Device); err != nil {
			return err
		}
	}
	if err := insertJump(ipt, "nat", "POSTROUTING", jumpSpec(lab, chain)); err != nil {
		return fmt.Errorf("%s: %w", f.bin, err)
	}
	// Forwarding goes on last, once masquerading is in place, so lab
	// traffic never leaves the host with its private source address.
	return sysctl.Write(f.forwardKey, "1")
}

// tables calls fn for the nat and filter tables (with the chain that jumps
// to a lab's chain) of every installed backend, skipping legacy tables the
// kernel does not have: listing one would create it.
func (f ipFamily) tables(fn func(path string, ipt *iptables.IPTables, table, parent string) error) error {
	paths, err := f.backends()
	if err != nil {
		return err
	}
	var errs *multierror.Error
	for _, p := range paths {
		ipt, err := f.open(p)
		if err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		legacy := isLegacy(p)
		for _, t := range []struct{ table, parent string }{{"nat", "POSTROUTING"}, {"filter", "FORWARD"}} {
			if legacy && !f.legacyTableLoaded(t.table) {
				continue
			}
			if err := fn(p, ipt, t.table, t.parent); err != nil {
				errs = multierror.Append(errs, fmt.Errorf("%s: %w", p, err))
			}
		}
	}
	return errs.ErrorOrNil()
}

// teardown removes chain from the nat and filter tables of every installed
// backend: every jump to it, its rules, and the chain. Missing rules and
// chains are success.
func (f ipFamily) teardown(chain string) error {
	return f.tables(func(_ string, ipt *iptables.IPTables, table, parent string) error {
		return teardownChain(ipt, table, parent, chain)
	})
}

// chains lists, sorted and once each, the leolab chains in the nat and
// filter tables of every installed backend.
func (f ipFamily) chains() ([]string, error) {
	found := map[string]bool{}
	err := f.tables(func(_ string, ipt *iptables.IPTables, table, _ string) error {
		chains, err := ipt.ListChains(table)
		if err != nil {
			return fmt.Errorf("list %s chains: %w", table, err)
		}
		for _, c := range chains {
			if strings.HasPrefix(c, hostnames.ChainPrefix) {
				found[c] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(found))
	for c := range found {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// backends is the selected binary followed by any other installed backend
// (nft, legacy), each resolved to a distinct file.
func (f ipFamily) backends() ([]string, error) {
	sel, err := f.selected()
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range []string{sel, f.bin + "-nft", f.bin + "-legacy"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = p
		}
		if !seen[real] {
			seen[real] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// legacyTableLoaded reports whether the legacy (x_tables) table exists in
// the calling thread's namespace (thread-self: /proc/net would show the
// main thread's).
func (f ipFamily) legacyTableLoaded(table string) bool {
	file, err := os.Open(f.legacyNames)
	if err != nil {
		return false
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	for s.Scan() {
		if strings.TrimSpace(s.Text()) == table {
			return true
		}
	}
	return false
}
