package labs

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"leolab/topology"
)

// A state.json written before the plan held every decision still loads:
// its lab namespace, chain, id block and remote nodes move into the plan,
// and forwarding is derived from its bridges.
func TestReadStateMovesOlderDecisionsIntoThePlan(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, json string
		want       topology.Plan
	}{
		{"host", `{"version":1,"phase":"running","created":"2026-01-02T03:04:05Z",
 "plan":{"name":"old","isolated":false,"ipv4_pool":"172.20.0.0/16",
  "bridges":[{"name":"wan","device":"lbx","alias":"a","subnet":"172.20.1.0/24","nat":true,"mtu":1500,"subnet6":"fd00:1::/64"}],
  "nodes":[{"name":"a","index":0,"rootfs":"busybox","interfaces":[],"user_namespace":true}],"links":[]},
 "nat_chain":"LEOLAB-ABCDEF","nat":true,"nat6":true,"uid_start":1048576,"uid_count":1,
 "remote":[{"name":"r","index":1,"rootfs":"busybox","interfaces":[],"host":"b"}],
 "nodes":{"a":{"pid":42,"start_time":7}}}`,
			topology.Plan{Chain: "LEOLAB-ABCDEF", NAT: true, NAT6: true,
				UIDs:   topology.UIDBlock{Start: 1 << 20, Count: 1},
				Remote: []topology.Node{{Name: "r", Index: 1, Rootfs: "busybox", Interfaces: []topology.Interface{}, Host: "b"}}}},
		{"isolated", `{"version":1,"phase":"running","created":"2026-01-02T03:04:05Z",
 "plan":{"name":"iso","isolated":true,"ipv4_pool":"172.20.0.0/16","bridges":[],"nodes":[],"links":[]},
 "lab_netns":"leolab.iso","nodes":{}}`,
			topology.Plan{Isolated: true, LabNetns: "leolab.iso"}},
	} {
		path := filepath.Join(dir, c.name+".json")
		if err := os.WriteFile(path, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := readState(path)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p := st.Plan
		got := topology.Plan{Isolated: p.Isolated, LabNetns: p.LabNetns, Chain: p.Chain, NAT: p.NAT, NAT6: p.NAT6, UIDs: p.UIDs, Remote: p.Remote}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: decisions %+v, want %+v", c.name, got, c.want)
		}
		if c.name == "host" && (!st.NAT || !st.NAT6 || st.Nodes["a"].Pid != 42) {
			t.Errorf("%s: runtime facts lost: nat %v nat6 %v nodes %+v", c.name, st.NAT, st.NAT6, st.Nodes)
		}
		// Written again, it is in the new form and reads back the same.
		if err := writeState(path, st); err != nil {
			t.Fatal(err)
		}
		again, err := readState(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, st) {
			t.Errorf("%s: state changed through write and read:\n%+v\n%+v", c.name, again.Plan, st.Plan)
		}
	}
}

// The state records the plan Resolve decided whole: read back, its plan
// equals the one deploy resolved, so apply can diff it against a new one.
func TestStateRecordsTheResolvedPlan(t *testing.T) {
	dec, err := topology.Decode("t.yaml", []byte("name: rec\nbridges: {lan: {nat: true}}\nnodes:\n  a: {user_namespace: true, interfaces: {e0: lan}}\n"), topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	others := []*State{{Plan: &topology.Plan{Name: "o", Bridges: []topology.Bridge{{Subnet: netip.MustParsePrefix("172.20.1.0/24")}}}}}
	plan, err := topology.Resolve(dec, topology.Env{Host: fixedRoutes{hostView{others: others}}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Bridges[0].Subnet == netip.MustParsePrefix("172.20.1.0/24") || plan.UIDs.Count != 1 || plan.Chain == "" || !plan.NAT {
		t.Fatalf("plan: subnet %v uids %+v chain %q nat %v", plan.Bridges[0].Subnet, plan.UIDs, plan.Chain, plan.NAT)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := writeState(path, &State{Version: stateVersion, Phase: PhaseRunning, Plan: plan}); err != nil {
		t.Fatal(err)
	}
	st, err := readState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Plan, plan) {
		t.Errorf("recorded plan differs:\n%+v\n%+v", st.Plan, plan)
	}
}

// fixedRoutes is the real host view without the host's own routes, so the
// test does not depend on the machine.
type fixedRoutes struct{ hostView }

func (f fixedRoutes) UsedSubnets() ([]netip.Prefix, error) {
	var used []netip.Prefix
	for _, st := range f.others {
		used = append(used, st.Plan.Subnets()...)
	}
	return used, nil
}
