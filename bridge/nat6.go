package bridge

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"github.com/hashicorp/go-multierror"

	"leolab/internal/hostnames"
	"leolab/topology"
)

// IPv6 rules of a dual-stack lab: the same chain name and rules as IPv4's
// (nat.go), written with ip6tables of the backend $LEOLAB_IPTABLES selects,
// for the bridges that carry IPv6. Only labs with IPv6 touch ip6tables, so
// an IPv4 lab's deploy and destroy cost what they did.

const ip6ForwardKey = "net.ipv6.conf.all.forwarding"

// IP6TablesPath resolves the ip6tables binary matching IPTablesPath's
// choice: ip6tables, ip6tables-nft, ip6tables-legacy, or for an absolute
// path /DIR/iptables… the /DIR/ip6tables… next to it.
func IP6TablesPath() (string, error) {
	name := "ip6tables"
	switch v := os.Getenv(IPTablesEnv); v {
	case "":
	case "nft", "legacy":
		name = "ip6tables-" + v
	default:
		base := filepath.Base(v)
		if !filepath.IsAbs(v) || !strings.HasPrefix(base, "iptables") {
			return "", fmt.Errorf("%s=%q: want nft, legacy or an absolute path to an iptables binary (for its ip6tables)", IPTablesEnv, v)
		}
		name = filepath.Join(filepath.Dir(v), "ip6"+base)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	return p, nil
}

func newIP6Tables(path string) (*iptables.IPTables, error) {
	ipt, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv6), iptables.Path(path), iptables.Timeout(lockWait))
	if err != nil {
		return nil, fmt.Errorf("ip6tables %s: %w", path, err)
	}
	return ipt, nil
}

func selectedIP6Tables() (*iptables.IPTables, error) {
	p, err := IP6TablesPath()
	if err != nil {
		return nil, err
	}
	return newIP6Tables(p)
}

// SetupForward6 is SetupForward in ip6tables, for the bridges with an IPv6
// subnet; with none it does nothing.
// Equivalent to: ip6tables -N CHAIN; ip6tables -A CHAIN -i BR -j ACCEPT; …
func SetupForward6(lab, chain string, bridges []topology.Bridge) error {
	var v6 []topology.Bridge
	for _, b := range bridges {
		if b.Subnet6.IsValid() {
			v6 = append(v6, b)
		}
	}
	if len(v6) == 0 {
		return nil
	}
	ipt, err := selectedIP6Tables()
	if err != nil {
		return err
	}
	if err := setupForward(ipt, lab, chain, v6); err != nil {
		return fmt.Errorf("ip6tables: %w", err)
	}
	return nil
}

// SetupNAT6 masquerades the IPv6 subnet of every nat bridge that has one
// (NAT66), then enables net.ipv6.conf.all.forwarding; saving the previous
// value is the caller's (IP6Forward). Bridges without nat or IPv6 are
// ignored; with none it does nothing.
// Equivalent to: ip6tables -t nat -N CHAIN; ip6tables -t nat -A CHAIN -s
// NET ! -d NET ! -o BRIDGE -j MASQUERADE; ip6tables -t nat -I POSTROUTING -j CHAIN;
// sysctl -w net.ipv6.conf.all.forwarding=1
func SetupNAT6(lab, chain string, bridges []topology.Bridge) error {
	var nat []topology.Bridge
	for _, b := range bridges {
		if b.NAT && b.Subnet6.IsValid() {
			nat = append(nat, b)
		}
	}
	if len(nat) == 0 {
		return nil
	}
	ipt, err := selectedIP6Tables()
	if err != nil {
		return err
	}
	if err := ipt.ClearChain("nat", chain); err != nil {
		return fmt.Errorf("create ip6tables nat chain %s: %w", chain, err)
	}
	for _, b := range nat {
		if err := masquerade(ipt, lab, chain, b.Subnet6, b.Device); err != nil {
			return err
		}
	}
	if err := insertJump(ipt, "nat", "POSTROUTING", jumpSpec(lab, chain)); err != nil {
		return fmt.Errorf("ip6tables: %w", err)
	}
	// As for IPv4: forwarding only once masquerading is in place.
	return writeSysctl(ip6ForwardKey, "1")
}

// IP6Forward returns the current net.ipv6.conf.all.forwarding.
func IP6Forward() (string, error) { return readSysctl(ip6ForwardKey) }

// RestoreIP6Forward sets net.ipv6.conf.all.forwarding back to prev; ""
// does nothing.
func RestoreIP6Forward(prev string) error {
	if prev == "" {
		return nil
	}
	return writeSysctl(ip6ForwardKey, prev)
}

// TeardownChain6 is TeardownChain in ip6tables: chain's jumps, rules and the
// chain itself go from the nat and filter tables of every installed
// ip6tables backend. Missing rules and chains are success.
func TeardownChain6(chain string) error {
	paths, err := teardownBackends6()
	if err != nil {
		return err
	}
	var errs *multierror.Error
	for _, p := range paths {
		ipt, err := newIP6Tables(p)
		if err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		legacy := isLegacy(p)
		for _, t := range []struct{ table, parent string }{{"nat", "POSTROUTING"}, {"filter", "FORWARD"}} {
			if legacy && !legacyTable6Loaded(t.table) {
				continue // listing it would create it
			}
			if err := teardownChain(ipt, t.table, t.parent, chain); err != nil {
				errs = multierror.Append(errs, fmt.Errorf("%s: %w", p, err))
			}
		}
	}
	return errs.ErrorOrNil()
}

// Chains6 lists the leolab chains in the nat and filter tables of every
// installed ip6tables backend.
func Chains6() ([]string, error) {
	paths, err := teardownBackends6()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		ipt, err := newIP6Tables(p)
		if err != nil {
			return nil, err
		}
		for _, table := range []string{"nat", "filter"} {
			if isLegacy(p) && !legacyTable6Loaded(table) {
				continue
			}
			chains, err := ipt.ListChains(table)
			if err != nil {
				return nil, fmt.Errorf("%s: list %s chains: %w", p, table, err)
			}
			for _, c := range chains {
				if strings.HasPrefix(c, hostnames.ChainPrefix) {
					out = append(out, c)
				}
			}
		}
	}
	return out, nil
}

// teardownBackends6 is the selected ip6tables followed by every other
// installed backend, each resolved to a distinct file.
func teardownBackends6() ([]string, error) {
	sel, err := IP6TablesPath()
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range []string{sel, "ip6tables-nft", "ip6tables-legacy"} {
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

// legacyTable6Loaded reports whether the legacy ip6_tables table exists in
// the calling thread's namespace.
func legacyTable6Loaded(table string) bool {
	f, err := os.Open("/proc/thread-self/net/ip6_tables_names")
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.TrimSpace(s.Text()) == table {
			return true
		}
	}
	return false
}
