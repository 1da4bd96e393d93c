package bridge

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"github.com/hashicorp/go-multierror"

	"leolab/internal/hostnames"
	"leolab/topology"
)

// IPTablesEnv selects the iptables binary leolab writes rules with: "nft"
// (iptables-nft), "legacy" (iptables-legacy), an absolute path, or unset for
// the system's `iptables` (Debian's alternatives choose the backend).
const IPTablesEnv = "LEOLAB_IPTABLES"

const (
	ipForwardKey = "net.ipv4.ip_forward"
	lockWait     = 10 // seconds to wait for the xtables lock
)

// IPTablesPath resolves the iptables binary selected by $LEOLAB_IPTABLES.
func IPTablesPath() (string, error) {
	name := "iptables"
	switch v := os.Getenv(IPTablesEnv); v {
	case "":
	case "nft", "legacy":
		name = "iptables-" + v
	default:
		if !filepath.IsAbs(v) {
			return "", fmt.Errorf("%s=%q: want nft, legacy or an absolute path", IPTablesEnv, v)
		}
		name = v
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	return p, nil
}

func newIPTables(path string) (*iptables.IPTables, error) {
	ipt, err := iptables.New(iptables.Path(path), iptables.Timeout(lockWait))
	if err != nil {
		return nil, fmt.Errorf("iptables %s: %w", path, err)
	}
	return ipt, nil
}

func selectedIPTables() (*iptables.IPTables, error) {
	p, err := IPTablesPath()
	if err != nil {
		return nil, err
	}
	return newIPTables(p)
}

func comment(lab string) []string {
	return []string{"-m", "comment", "--comment", hostnames.RuleComment(lab)}
}

func jumpSpec(lab, chain string) []string {
	return append(comment(lab), "-j", chain)
}

// SetupForward writes the lab's filter chain: ACCEPT for traffic in and out
// of each of the lab's bridges, with one jump to it at the top of FORWARD.
// Bridged frames pass through iptables FORWARD (br_netfilter), so without
// this a host whose FORWARD policy is DROP (any Docker host) would break
// the lab. It works in the calling thread's namespace and is idempotent.
// Equivalent to: iptables -N CHAIN; iptables -A CHAIN -i BR -j ACCEPT;
// iptables -A CHAIN -o BR -j ACCEPT; iptables -I FORWARD -j CHAIN
func SetupForward(lab, chain string, bridges []topology.Bridge) error {
	ipt, err := selectedIPTables()
	if err != nil {
		return err
	}
	return setupForward(ipt, lab, chain, bridges)
}

func setupForward(ipt *iptables.IPTables, lab, chain string, bridges []topology.Bridge) error {
	if err := ipt.ClearChain("filter", chain); err != nil {
		return fmt.Errorf("create filter chain %s: %w", chain, err)
	}
	for _, b := range bridges {
		for _, dir := range []string{"-i", "-o"} {
			spec := append([]string{dir, b.Device}, comment(lab)...)
			if err := ipt.Append("filter", chain, append(spec, "-j", "ACCEPT")...); err != nil {
				return fmt.Errorf("accept %s %s in %s: %w", dir, b.Device, chain, err)
			}
		}
	}
	return insertJump(ipt, "filter", "FORWARD", jumpSpec(lab, chain))
}

func insertJump(ipt *iptables.IPTables, table, parent string, spec []string) error {
	ok, err := ipt.Exists(table, parent, spec...)
	if err != nil {
		return fmt.Errorf("check jump from %s/%s: %w", table, parent, err)
	}
	if ok {
		return nil
	}
	if err := ipt.Insert(table, parent, 1, spec...); err != nil {
		return fmt.Errorf("add jump from %s/%s: %w", table, parent, err)
	}
	return nil
}

// SetupNAT writes the lab's nat chain (MASQUERADE of every nat bridge's
// subnet towards anything outside that subnet, one jump from POSTROUTING)
// and then enables net.ipv4.ip_forward. The filter chain is SetupForward's;
// saving the previous ip_forward is the caller's (IPForward). Bridges
// without nat are ignored. It works in the calling thread's namespace and is
// idempotent.
// Equivalent to: iptables -t nat -N CHAIN; iptables -t nat -A CHAIN -s NET
// ! -d NET ! -o BRIDGE -j MASQUERADE; iptables -t nat -I POSTROUTING -j CHAIN;
// sysctl -w net.ipv4.ip_forward=1
func SetupNAT(lab, chain string, bridges []topology.Bridge) error {
	ipt, err := selectedIPTables()
	if err != nil {
		return err
	}
	var nat []topology.Bridge
	for _, b := range bridges {
		if b.NAT {
			nat = append(nat, b)
		}
	}
	if len(nat) == 0 {
		return nil
	}
	if err := ipt.ClearChain("nat", chain); err != nil {
		return fmt.Errorf("create nat chain %s: %w", chain, err)
	}
	for _, b := range nat {
		if err := masquerade(ipt, lab, chain, b.Subnet, b.Device); err != nil {
			return err
		}
	}
	if err := insertJump(ipt, "nat", "POSTROUTING", jumpSpec(lab, chain)); err != nil {
		return err
	}
	// Forwarding goes on last, once masquerading is in place, so lab
	// traffic never leaves the host with its private source address.
	return writeSysctl(ipForwardKey, "1")
}

// RestoreIPForward sets net.ipv4.ip_forward back to prev, as read by
// IPForward before SetupNAT; "" does nothing.
func RestoreIPForward(prev string) error {
	if prev == "" {
		return nil
	}
	return writeSysctl(ipForwardKey, prev)
}

// IPForward returns the current net.ipv4.ip_forward ("0" or "1"), so the
// caller can tell whether something else changed it since SetupNAT.
func IPForward() (string, error) {
	return readSysctl(ipForwardKey)
}

func readSysctl(key string) (string, error) {
	b, err := os.ReadFile(sysctlPath(key))
	if err != nil {
		return "", fmt.Errorf("read sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// TeardownChain removes chain from the nat and filter tables: every jump to it
// from POSTROUTING and FORWARD, its rules, and the chain. It looks in the
// selected backend and in every other installed one (nft and legacy), so a
// lab is cleaned up even if the backend changed since deploy. Missing rules
// and chains are success.
// Equivalent to: iptables -t T -D PARENT -j CHAIN; iptables -t T -F CHAIN;
// iptables -t T -X CHAIN
func TeardownChain(chain string) error {
	paths, err := teardownBackends()
	if err != nil {
		return err
	}
	var errs *multierror.Error
	for _, p := range paths {
		ipt, err := newIPTables(p)
		if err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		legacy := isLegacy(p)
		for _, t := range []struct{ table, parent string }{{"nat", "POSTROUTING"}, {"filter", "FORWARD"}} {
			// Listing a legacy table the kernel does not have creates it:
			// skip tables nothing could have written to.
			if legacy && !legacyTableLoaded(t.table) {
				continue
			}
			if err := teardownChain(ipt, t.table, t.parent, chain); err != nil {
				errs = multierror.Append(errs, fmt.Errorf("%s: %w", p, err))
			}
		}
	}
	return errs.ErrorOrNil()
}

// teardownBackends is the selected iptables binary followed by any other
// installed backend, each resolved to a distinct file.
func teardownBackends() ([]string, error) {
	sel, err := IPTablesPath()
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range []string{sel, "iptables-nft", "iptables-legacy"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = p
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		out = append(out, p)
	}
	return out, nil
}

func teardownChain(ipt *iptables.IPTables, table, parent, chain string) error {
	ok, err := ipt.ChainExists(table, chain)
	if err != nil {
		return fmt.Errorf("check chain %s/%s: %w", table, chain, err)
	}
	if !ok {
		return nil
	}
	// Jumps go first: a chain that is still referenced cannot be deleted.
	rules, err := ipt.List(table, parent)
	if err != nil {
		return fmt.Errorf("list %s/%s: %w", table, parent, err)
	}
	for _, r := range rules {
		args := splitRule(r)
		if len(args) < 2 || args[0] != "-A" || !jumpsTo(args, chain) {
			continue
		}
		if err := ipt.Delete(table, parent, args[2:]...); err != nil {
			return fmt.Errorf("delete jump %q: %w", r, err)
		}
	}
	if err := ipt.ClearAndDeleteChain(table, chain); err != nil {
		return fmt.Errorf("delete chain %s/%s: %w", table, chain, err)
	}
	return nil
}

func jumpsTo(args []string, chain string) bool {
	i := slices.Index(args, "-j")
	return i >= 0 && i+1 < len(args) && args[i+1] == chain
}

// splitRule splits one line of `iptables -S` output into arguments,
// honouring the double quotes iptables puts around arguments with spaces.
func splitRule(line string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case c == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// legacyTableLoaded reports whether the legacy (x_tables) table exists in
// the calling thread's namespace.
func legacyTableLoaded(table string) bool {
	// thread-self: /proc/net would show the main thread's namespace.
	f, err := os.Open("/proc/thread-self/net/ip_tables_names")
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

// isLegacy reports whether the iptables binary at path is the legacy
// (x_tables) backend, from its version line, e.g. "iptables v1.8.9 (legacy)".
func isLegacy(path string) bool {
	out, err := exec.Command(path, "--version").Output()
	return err == nil && strings.Contains(string(out), "(legacy)")
}

// masquerade appends to chain the rule masquerading subnet's traffic that
// leaves by another device than its bridge (IPv4 or IPv6, by ipt). ! -o
// BRIDGE, as Docker does: frames bridged between two nodes of the LAN pass
// POSTROUTING too (br_netfilter), and one sent to a node routing to another
// lab network must keep its source.
func masquerade(ipt *iptables.IPTables, lab, chain string, subnet netip.Prefix, bridgeDev string) error {
	net := subnet.Masked().String()
	spec := append([]string{"-s", net, "!", "-d", net, "!", "-o", bridgeDev}, comment(lab)...)
	if err := ipt.Append("nat", chain, append(spec, "-j", "MASQUERADE")...); err != nil {
		return fmt.Errorf("masquerade %s in %s: %w", net, chain, err)
	}
	return nil
}
