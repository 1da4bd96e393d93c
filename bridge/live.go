package bridge

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"leolab/internal/nsthread"
	"leolab/internal/sysctl"
	"leolab/topology"
)

// Live changes of a running lab (leolab apply): each works on one device or
// namespace and leaves everything else alone.

// DeleteLink deletes device dev in the namespace at nsPath ("" is the
// calling thread's); deleting one end of a veth pair removes both. A
// missing device or namespace is success, so a removal can be run again.
// Equivalent to: ip -n NS link del DEV
func DeleteLink(nsPath, dev string) error {
	h, err := openHandle(nsPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	if err := deleteLinkByName(h, dev); err != nil {
		return fmt.Errorf("delete %s in %s: %w", dev, nsName(nsPath), err)
	}
	return nil
}

// SetMTU changes the MTU of device dev in the namespace at nsPath.
// Equivalent to: ip -n NS link set DEV mtu M
func SetMTU(nsPath, dev string, mtu int) error {
	return withLink(nsPath, dev, "set mtu", func(h *netlink.Handle, link netlink.Link) error {
		if link.Attrs().MTU == mtu {
			return nil
		}
		return h.LinkSetMTU(link, mtu)
	})
}

// DeleteRoutes removes routes from the namespace at nsPath; a route that is
// not there is success.
// Equivalent to: ip -n NS route del TO via VIA
func DeleteRoutes(nsPath string, routes []topology.Route) error {
	h, err := openHandle(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	for _, r := range routes {
		if err := h.RouteDel(toRoute(r)); err != nil && !isNotFound(err) && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("delete route %s via %s: %w", r.To, r.Via, err)
		}
	}
	return nil
}

// SetSysctls writes net.* sysctls in the network namespace at nsPath (the
// kernel resolves /proc/sys/net in the namespace of the writing thread).
// Equivalent to: ip netns exec NS sysctl -w KEY=VALUE
func SetSysctls(nsPath string, sysctls []topology.Sysctl) error {
	return nsthread.DoPath(nsPath, func() error {
		for _, s := range sysctls {
			if err := sysctl.Write(s.Key, s.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

// FlushNAT empties the lab's nat chain (creating it if missing), and the
// ip6tables one with nat6, for a lab whose last nat bridge is gone;
// destroy removes the chains and their jumps.
// Equivalent to: iptables -t nat -F CHAIN
func FlushNAT(chain string, nat6 bool) error {
	families := []ipFamily{ipv4}
	if nat6 {
		families = append(families, ipv6)
	}
	for _, f := range families {
		ipt, err := f.openSelected()
		if err != nil {
			return err
		}
		if err := ipt.ClearChain("nat", chain); err != nil {
			return fmt.Errorf("flush %s nat chain %s: %w", f.bin, chain, err)
		}
	}
	return nil
}
