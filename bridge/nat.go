package bridge

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"

	"leolab/internal/hostnames"
	"leolab/internal/sysctl"
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
	return selectedBinary("iptables", func(v string) (string, error) {
		if !filepath.IsAbs(v) {
			return "", fmt.Errorf("%s=%q: want nft, legacy or an absolute path", IPTablesEnv, v)
		}
		return v, nil
	})
}

// selectedBinary finds the binary of family bin (iptables, ip6tables) that
// $LEOLAB_IPTABLES selects: bin itself when unset, bin-nft or bin-legacy,
// or what path makes of any other value.
func selectedBinary(bin string, path func(v string) (string, error)) (string, error) {
	name := bin
	switch v := os.Getenv(IPTablesEnv); v {
	case "":
	case "nft", "legacy":
		name = bin + "-" + v
	default:
		var err error
		if name, err = path(v); err != nil {
			return "", err
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	return p, nil
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
	ipt, err := ipv4.openSelected()
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

// NATBridges returns the bridges with nat on, in order: those SetupNAT
// masquerades.
func NATBridges(bridges []topology.Bridge) []topology.Bridge {
	var nat []topology.Bridge
	for _, b := range bridges {
		if b.NAT {
			nat = append(nat, b)
		}
	}
	return nat
}

// NAT6Bridges returns the nat bridges with an IPv6 subnet, in order: those
// SetupNAT6 masquerades.
func NAT6Bridges(bridges []topology.Bridge) []topology.Bridge {
	var nat []topology.Bridge
	for _, b := range NATBridges(bridges) {
		if b.Subnet6.IsValid() {
			nat = append(nat, b)
		}
	}
	return nat
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
	return ipv4.setupNAT(lab, chain, NATBridges(bridges), func(b topology.Bridge) netip.Prefix { return b.Subnet })
}

// RestoreIPForward sets net.ipv4.ip_forward back to prev, as read by
// IPForward before SetupNAT; "" does nothing.
func RestoreIPForward(prev string) error {
	if prev == "" {
		return nil
	}
	return sysctl.Write(ipForwardKey, prev)
}

// IPForward returns the current net.ipv4.ip_forward ("0" or "1"), so the
// caller can tell whether something else changed it since SetupNAT.
func IPForward() (string, error) {
	return sysctl.Read(ipForwardKey)
}

// TeardownChain removes chain from the nat and filter tables: every jump to it
// from POSTROUTING and FORWARD, its rules, and the chain. It looks in the
// selected backend and in every other installed one (nft and legacy), so a
// lab is cleaned up even if the backend changed since deploy. Missing rules
// and chains are success.
// Equivalent to: iptables -t T -D PARENT -j CHAIN; iptables -t T -F CHAIN;
// iptables -t T -X CHAIN
func TeardownChain(chain string) error { return ipv4.teardown(chain) }

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
