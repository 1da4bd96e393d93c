package labs

import (
	"fmt"
	"strings"
	"sync"
	"syscall"

	"leolab/topology"
)

// Labs across hosts (hosts:): each host deploys its share with --host NAME.
// Hosts never talk to each other; each computes the same plan from the
// same file.

// checkHostFlag requires --host exactly for a lab across hosts.
func checkHostFlag(p *topology.Plan, host string) error {
	if host != "" && len(p.Hosts) == 0 {
		return fmt.Errorf("lab %s has no hosts: (--host is for labs across hosts)", p.Name)
	}
	if host == "" && len(p.Hosts) > 0 {
		var names []string
		for _, h := range p.Hosts {
			names = append(names, h.Name)
		}
		return fmt.Errorf("lab %s spans hosts %s: deploy it with --host NAME on each", p.Name, strings.Join(names, ", "))
	}
	if host != "" {
		_, _, err := p.Share(host)
		return err
	}
	return nil
}

// hostNetns identifies the network namespace leolab runs in: claims of
// host devices and subnets only conflict within one (two leolab "hosts"
// can be network namespaces of one kernel), while netns names are global.
var hostNetns = sync.OnceValue(func() string {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
		return ""
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
})

// sameNetns reports whether claim c was made in this network namespace
// (a claim without one predates the field and counts as the same).
func sameNetns(c *Claim) bool {
	return c.HostNetns == "" || hostNetns() == "" || c.HostNetns == hostNetns()
}

// remoteHint is the error for a node that is not here because another
// host of its lab runs it (lab "" looks in every lab), or nil.
func (m *Manager) remoteHint(lab, node string) error {
	names := []string{lab}
	if lab == "" {
		names, _ = m.labNames()
	}
	for _, name := range names {
		st, err := readState(m.statePath(name))
		if err != nil {
			continue
		}
		for _, n := range st.Plan.Remote {
			if n.Name == node {
				return fmt.Errorf("node %s of lab %s runs on host %s (%s): run this command there", n.Name, name, n.Host, hostAddress(st.Plan, n.Host))
			}
		}
	}
	return nil
}

func hostAddress(p *topology.Plan, host string) string {
	for _, h := range p.Hosts {
		if h.Name == host {
			return h.Address.String()
		}
	}
	return "?"
}

// CheckShare makes sure the lab deployed here is host's share of it, so
// destroy --host never removes another host's share by mistake. A lab
// that is not here is fine (destroy is idempotent).
func (m *Manager) CheckShare(lab, host string) error {
	st, err := readState(m.statePath(lab))
	if err != nil {
		return nil
	}
	if st.Plan.LocalHost != host {
		here := st.Plan.LocalHost
		if here == "" {
			return fmt.Errorf("lab %s here is not a lab across hosts (destroy it without --host)", lab)
		}
		return fmt.Errorf("lab %s here is host %s's share, not host %s's", lab, here, host)
	}
	return nil
}
