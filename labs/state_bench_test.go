package labs

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"leolab/topology"
)

// benchState is the state of a deployed 1000-node one-bridge lab.
func benchState(n int) *State {
	p := &topology.Plan{Name: "bench"}
	p.Bridges = []topology.Bridge{{Name: "lan", Subnet: netip.MustParsePrefix("172.20.0.0/22")}}
	st := &State{Version: stateVersion, Phase: PhaseRunning, Plan: p, Nodes: map[string]*NodeState{}}
	addr := netip.MustParseAddr("172.20.0.2")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("n%d", i+1)
		p.Nodes = append(p.Nodes, topology.Node{Name: name, Index: i, Rootfs: "busybox",
			Interfaces: []topology.Interface{{Name: "eth0", Bridge: "lan", IPv4: netip.PrefixFrom(addr, 22)}}})
		addr = addr.Next()
		st.Nodes[name] = &NodeState{Pid: 100000 + i, StartTime: 12345678}
	}
	return st
}

// BenchmarkWriteState1000 writes (encode, fsync, rename, fsync dir) the
// state of a 1000-node lab, as deploy does a fixed number of times.
func BenchmarkWriteState1000(b *testing.B) {
	st := benchState(1000)
	path := filepath.Join(b.TempDir(), "state.json")
	for b.Loop() {
		if err := writeState(path, st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadState1000 is what every exec, inspect and destroy pays.
func BenchmarkReadState1000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.json")
	if err := writeState(path, benchState(1000)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := readState(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostsFile1000 renders the lab's /etc/hosts once.
func BenchmarkHostsFile1000(b *testing.B) {
	p := benchState(1000).Plan
	for b.Loop() {
		_ = hostsFile(p, nil)
	}
}
