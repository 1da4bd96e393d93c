//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Reliability round 2, items 2, 7, 10, 11 and 12: names and subnets are
// owned host-wide, and a dead node or an interrupted deploy is said to be.

const nodeLabTopo = "name: leolab\nbridges: {lan: {}}\nnodes:\n  rlx: {interfaces: {eth0: lan}}\n  rly: {interfaces: {eth0: lan}}\n"
const isolatedLabTopo = "name: rlx\nbridges: {lan: {}}\nnodes:\n  a: {interfaces: {eth0: lan}}\n  b: {interfaces: {eth0: lan}}\n"

// TestIsolatedLabNamespaceNeverANodeNamespace: an isolated lab x and node x
// of a lab named leolab both deploy, in either order, each keeps working
// while the other is destroyed, and neither destroy touches the other's
// namespaces (their names once were both leolab-x).
func TestIsolatedLabNamespaceNeverANodeNamespace(t *testing.T) {
	for _, isolatedFirst := range []bool{false, true} {
		name := "node lab first"
		if isolatedFirst {
			name = "isolated lab first"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			nodeLab := e.writeTopo("leolab.yaml", nodeLabTopo)
			isoLab := e.writeTopo("rlx.yaml", isolatedLabTopo)
			if isolatedFirst {
				e.must("deploy", "--isolated", isoLab)
				e.must("deploy", nodeLab)
			} else {
				e.must("deploy", nodeLab)
				e.must("deploy", "--isolated", isoLab)
			}
			for _, ns := range []string{"leolab-rlx", "leolab-rly", "leolab.rlx"} {
				if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
					t.Errorf("netns %s: %v", ns, err)
				}
			}
			if !e.reachable("leolab/rlx", "rly") || !e.reachable("rlx/a", "b") {
				t.Fatal("a lab cannot reach its own nodes with both deployed")
			}
			// Destroying the isolated lab leaves node leolab/rlx whole.
			e.must("destroy", "--lab", "rlx")
			if _, err := os.Stat("/run/netns/leolab-rlx"); err != nil {
				t.Errorf("destroy of isolated lab rlx removed node leolab/rlx's netns: %v", err)
			}
			if !e.reachable("leolab/rlx", "rly") {
				t.Error("node leolab/rlx lost its network when isolated lab rlx went")
			}
			for _, n := range e.inspect("leolab").Nodes {
				if n.State != "running" {
					t.Errorf("node %s is %s after the other lab's destroy", n.Name, n.State)
				}
			}
			e.must("destroy", "--lab", "leolab")
		})
	}
}

// TestDeployRefusesANameThatExistsOnTheHost: a netns named like one of the
// lab's nodes that leolab did not create stops the deploy before anything
// is created, and the deploy's failure leaves that netns alone.
func TestDeployRefusesANameThatExistsOnTheHost(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("rlq.yaml", "name: rlq\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\n")
	addNamedNetns(t, "rlq-h1")
	defer netns.DeleteNamed("rlq-h1")
	r := e.run("deploy", topo)
	if r.code != 1 || !strings.Contains(r.stderr, "network namespace rlq-h1 already exists") {
		t.Fatalf("deploy over a foreign netns: exit %d, stderr %q; want 1 naming rlq-h1", r.code, r.stderr)
	}
	if _, err := os.Stat("/run/netns/rlq-h1"); err != nil {
		t.Errorf("the refused deploy removed the netns it did not create: %v", err)
	}
	if out := e.must("list"); strings.Contains(out, "rlq") {
		t.Errorf("the refused deploy left lab rlq behind:\n%s", out)
	}
}

// addNamedNetns registers a new, empty network namespace as /run/netns/NAME
// from a thread of its own, which is then discarded (never back in the pool
// in another namespace).
func addNamedNetns(t *testing.T, name string) {
	t.Helper()
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		h, err := netns.NewNamed(name)
		if err == nil {
			h.Close()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("add netns %s: %v", name, err)
	}
}

// TestTwoRootsNeverShareASubnet: a lab planned under one root but not yet
// up (its deploy killed before the bridges: no host route shows its subnet)
// still holds its subnet against a deploy under another root.
func TestTwoRootsNeverShareASubnet(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t)
	topoA := a.writeTopo("rl7a.yaml", "name: rl7a\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n")
	topoB := b.writeTopo("rl7b.yaml", "name: rl7b\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n")
	if r := a.runEnv([]string{"LEOLAB_FAULT_AT=create bridges"}, "deploy", topoA); r.code != 137 {
		t.Fatalf("deploy killed before its bridges: exit %d, want 137 (%s)", r.code, r.stderr)
	}
	defer a.must("destroy", "--lab", "rl7a")
	b.must("deploy", topoB)
	defer b.must("destroy", "--lab", "rl7b")
	subA, subB := a.inspect("rl7a").Bridges[0].Subnet, b.inspect("rl7b").Bridges[0].Subnet
	if subA == "" || subA == subB {
		t.Errorf("labs of two roots got subnets %q and %q, want two different ones", subA, subB)
	}
}

// TestInterruptedDeployIsSaidToBe: after a deploy was SIGKILLed, list and
// inspect say "interrupted" (not "deploying" forever) and a new deploy says
// what happened and what to run.
func TestInterruptedDeployIsSaidToBe(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("rl12.yaml", "name: rl12\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n")
	if r := e.runEnv([]string{"LEOLAB_FAULT_AT=configure nodes"}, "deploy", topo); r.code != 137 {
		t.Fatalf("deploy killed half-way: exit %d, want 137 (%s)", r.code, r.stderr)
	}
	var list []struct{ Name, Phase string }
	if err := json.Unmarshal([]byte(e.must("list", "--format", "json")), &list); err != nil {
		t.Fatalf("list json: %v", err)
	}
	if len(list) != 1 || list[0].Phase != "interrupted" {
		t.Errorf("list after a killed deploy: %+v, want rl12 interrupted", list)
	}
	r := e.run("deploy", topo)
	if r.code != 1 || !strings.Contains(r.stderr, "interrupted") || !strings.Contains(r.stderr, "leolab destroy --lab rl12") {
		t.Errorf("deploy over an interrupted one: exit %d, stderr %q; want it to say interrupted and what to run", r.code, r.stderr)
	}
	e.must("destroy", "--lab", "rl12")
}

// TestDeadNodeIsNotRunning: a node whose init died shows as exited in
// inspect at once (even while its init is an unreaped zombie, as on a host
// whose PID 1 reaps slowly), pingall counts it unreached though its netns
// still answers, and exec says the node has exited and how.
func TestDeadNodeIsNotRunning(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("rl11.yaml", "name: rl11\nbridges: {lan: {}}\nnodes:\n  h1: {interfaces: {eth0: lan}}\n  h2: {interfaces: {eth0: lan}}\n")
	// Adopt the inits (a subreaper gets the orphans of its descendants) and
	// never reap h2's: a zombie init, deterministically.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("become a subreaper: %v", err)
	}
	r := e.run("deploy", topo)
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	if r.code != 0 {
		t.Fatalf("deploy: exit %d: %s", r.code, r.stderr)
	}
	pids := e.pids("rl11")
	defer reap(pids)
	defer e.must("destroy", "--lab", "rl11")
	if err := syscall.Kill(pids["h2"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "h2's init to be a zombie", deployWait, func() bool { return isZombie(strconv.Itoa(pids["h2"])) })

	for _, n := range e.inspect("rl11").Nodes {
		if want := map[string]string{"h1": "running", "h2": "exited"}[n.Name]; n.State != want {
			t.Errorf("node %s: state %s, want %s", n.Name, n.State, want)
		}
	}
	if r := e.run("pingall", "rl11"); r.code == 0 || !strings.Contains(r.stdout, "(0/2 received)") {
		t.Errorf("pingall with h2 dead: exit %d\n%s\nwant both pings (h1->h2, h2->h1) lost", r.code, r.stdout)
	}
	r = e.run("exec", "h2", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "node h2 has exited") || !strings.Contains(r.stderr, "SIGKILL") {
		t.Errorf("exec into dead h2: exit %d, stderr %q; want it to say the node exited, killed by SIGKILL", r.code, r.stderr)
	}
}

// reap waits for the given processes, children of this test by adoption.
func reap(pids map[string]int) {
	for _, pid := range pids {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil) // destroy left them zombies, or not ours
	}
}

// TestExecRefusesAnEmptyCommandName: `exec n -- ""` is a usage error, not a
// permission error about a directory.
func TestExecRefusesAnEmptyCommandName(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("rl10.yaml", "name: rl10\nnodes:\n  n: {}\n")
	e.must("deploy", topo)
	defer e.must("destroy", topo)
	r := e.run("exec", "n", "--", "")
	if r.code != 2 || !strings.Contains(r.stderr, "command name is empty") {
		t.Errorf("exec of an empty name: exit %d, stderr %q; want 2 and a usage message", r.code, r.stderr)
	}
}
