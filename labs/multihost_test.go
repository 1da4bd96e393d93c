package labs

import (
	"net/netip"
	"strings"
	"testing"

	"leolab/internal/hostnames"
	"leolab/topology"
)

// Two simulated hosts are network namespaces of one kernel sharing /run:
// another namespace's claim of the same device or subnet is no conflict,
// the same namespace's is; netns names conflict everywhere.
func TestClaimsOfDevicesAndSubnetsArePerNetworkNamespace(t *testing.T) {
	if hostNetns() == "" {
		t.Skip("no /proc/self/ns/net")
	}
	plan := &topology.Plan{Name: "mhc", Bridges: []topology.Bridge{{Name: "lan", Device: "lbmhcclaimtest"}}}
	st := &State{Plan: plan}
	sub := netip.MustParsePrefix("10.201.0.0/24")
	other := &Claim{Root: "/x", Lab: "mhc", Devices: []string{"lbmhcclaimtest"}, Subnets: []netip.Prefix{sub}, HostNetns: "0:1"}
	if err := checkHostNames(st, []*Claim{other}); err != nil {
		t.Errorf("a claim in another network namespace conflicts: %v", err)
	}
	if got := claimsSubnets([]*Claim{other}); len(got) != 0 {
		t.Errorf("subnets of another namespace count here: %v", got)
	}
	same := *other
	same.HostNetns = hostNetns()
	if err := checkHostNames(st, []*Claim{&same}); err == nil || !strings.Contains(err.Error(), "lbmhcclaimtest is already used") {
		t.Errorf("a claim in this namespace: %v", err)
	}
	if got := claimsSubnets([]*Claim{&same}); len(got) != 1 {
		t.Errorf("subnets of this namespace: %v", got)
	}
	plan.Nodes = []topology.Node{{Name: "h1"}}
	other.Netns = []string{hostnames.NodeNetns("mhc", "h1")}
	if err := checkHostNames(st, []*Claim{other}); err == nil || !strings.Contains(err.Error(), "network namespace mhc-h1") {
		t.Errorf("netns names are global: %v", err)
	}
}

func TestCheckHostFlag(t *testing.T) {
	one := &topology.Plan{Name: "x"}
	two := &topology.Plan{Name: "y", Hosts: []topology.Host{{Name: "a"}, {Name: "b"}}}
	for _, c := range []struct {
		p    *topology.Plan
		host string
		want string
	}{
		{one, "", ""},
		{one, "a", "has no hosts:"},
		{two, "", "spans hosts a, b"},
		{two, "b", ""},
		{two, "c", `no host "c"`},
	} {
		err := checkHostFlag(c.p, c.host)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s --host %q: %v, want %q", c.p.Name, c.host, err, c.want)
		}
	}
}
