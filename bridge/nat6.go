package bridge

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"leolab/internal/sysctl"
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
	return selectedBinary("ip6tables", func(v string) (string, error) {
		base := filepath.Base(v)
		if !filepath.IsAbs(v) || !strings.HasPrefix(base, "iptables") {
			return "", fmt.Errorf("%s=%q: want nft, legacy or an absolute path to an iptables binary (for its ip6tables)", IPTablesEnv, v)
		}
		return filepath.Join(filepath.Dir(v), "ip6"+base), nil
	})
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
	ipt, err := ipv6.openSelected()
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
	return ipv6.setupNAT(lab, chain, NAT6Bridges(bridges), func(b topology.Bridge) netip.Prefix { return b.Subnet6 })
}

// IP6Forward returns the current net.ipv6.conf.all.forwarding.
func IP6Forward() (string, error) { return sysctl.Read(ip6ForwardKey) }

// RestoreIP6Forward sets net.ipv6.conf.all.forwarding back to prev; ""
// does nothing.
func RestoreIP6Forward(prev string) error {
	if prev == "" {
		return nil
	}
	return sysctl.Write(ip6ForwardKey, prev)
}

// TeardownChain6 is TeardownChain in ip6tables: chain's jumps, rules and the
// chain itself go from the nat and filter tables of every installed
// ip6tables backend. Missing rules and chains are success.
func TeardownChain6(chain string) error { return ipv6.teardown(chain) }

// Chains6 is Chains for ip6tables.
func Chains6() ([]string, error) { return ipv6.chains() }
