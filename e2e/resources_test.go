//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deployWait bounds waits for a deploy's progress; generous, it only turns
// a hang into a failure.
const deployWait = 60 * time.Second

// TestForkBombContainedByPidsLimit: a fork bomb in a node with
// limits.pids stays under the limit, the host keeps answering (a host
// process still forks and leolab still execs into another node), and
// destroy kills every process of it. It asserts on what the kernel
// records in the limited cgroup (pids.events counts refused forks,
// pids.peak the most tasks ever in it), never on a sample of pids.current:
// the bomb may be at the limit or between two waves whenever it is looked
// at.
func TestForkBombContainedByPidsLimit(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("bomb.yaml", "name: rlbomb\nbridges: {lan: {}}\nnodes:\n  bomb:\n    interfaces: {eth0: lan}\n    limits: {pids: 64}\n  calm:\n    interfaces: {eth0: lan}\n")
	e.must("deploy", topo)
	// Every shell forks a copy of itself at once, then tries again every
	// second for as long as it lives. A shell whose fork is refused exits
	// (busybox sh does), which frees a slot for the next try: the bomb
	// keeps the node at its limit instead of collapsing after one wave.
	bomber := exec.Command(binary, "--root", e.root, "exec", "bomb", "--", "sh", "-c", "b() { b & while :; do b & sleep 1; done; }; b")
	if err := bomber.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kernel to refuse a fork of the bomb", deployWait, func() bool {
		return pidsEventsMax(t, "rlbomb", "bomb") > 0
	})
	// pids.peak (kernels ≥ 6.13) is the high-water mark: the limit was
	// reached (a fork was refused) and never passed. On cgroup v1 the
	// cgroup also holds init's spawning thread, one task more.
	allowed := 64
	if _, err := os.Stat("/sys/fs/cgroup/pids/leolab/rlbomb/bomb/procs"); err == nil {
		allowed++
	}
	if peak, ok := pidsFile(t, "rlbomb", "bomb", "pids.peak"); ok && peak > allowed {
		t.Errorf("the bomb node held %d tasks at its peak, over the pids limit of 64 (+%d)", peak, allowed-64)
	}
	bombInit := e.pids("rlbomb")["bomb"]
	if out, err := exec.Command("true").CombinedOutput(); err != nil {
		t.Errorf("host cannot fork while the bomb runs: %v %s", err, out)
	}
	e.must("exec", "calm", "--", "ping", "-c1", "-W2", "bomb")
	// The bomb cannot take its own init down: init's threads are outside
	// the limit, so it still answers (the command itself may not fork: 126).
	if r := e.run("exec", "bomb", "--", "true"); r.code != 0 && r.code != 126 {
		t.Errorf("exec into the bombed node: exit %d (%s), want 0 or 126", r.code, r.stderr)
	}
	if err := syscall.Kill(bombInit, 0); err != nil {
		t.Errorf("the bomb node's init %d died: %v", bombInit, err)
	}
	if n, ok := pidsFile(t, "rlbomb", "bomb", "pids.current"); ok {
		t.Logf("%d tasks in the bomb node before destroy", n) // information only
	}
	e.must("destroy", "--lab", "rlbomb")
	bomber.Wait()
	if n := countLabProcs("rlbomb"); n != 0 {
		t.Errorf("%d processes of the bomb survive destroy", n)
	}
}

// pidsEventsMax is the "max" count of the node's pids-limited cgroup's
// pids.events: how many forks the limit refused there.
func pidsEventsMax(t *testing.T, lab, node string) int {
	b, ok := readPidsFile(t, lab, node, "pids.events")
	if !ok {
		t.Fatalf("no pids.events for %s/%s", lab, node)
	}
	for _, line := range strings.Split(b, "\n") {
		if v, ok := strings.CutPrefix(line, "max "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatalf("no max count in pids.events of %s/%s: %q", lab, node, b)
	return 0
}

// pidsFile reads a number from a file of the node's pids-limited cgroup;
// false when the kernel has no such file.
func pidsFile(t *testing.T, lab, node, file string) (int, bool) {
	b, ok := readPidsFile(t, lab, node, file)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		t.Fatalf("%s of %s/%s: %v", file, lab, node, err)
	}
	return n, true
}

// readPidsFile reads a file of the node's pids-limited cgroup: on v1 its
// procs child (init stays above it), on v2 the node's own. False when the
// cgroup exists but has no such file.
func readPidsFile(t *testing.T, lab, node, file string) (string, bool) {
	for _, pat := range []string{"/sys/fs/cgroup/pids/leolab/%s/%s/procs", "/sys/fs/cgroup/leolab/%s/%s", "/sys/fs/cgroup/unified/leolab/%s/%s"} {
		dir := fmt.Sprintf(pat, lab, node)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		b, err := os.ReadFile(dir + "/" + file)
		return string(b), err == nil
	}
	t.Fatalf("no pids cgroup for %s/%s", lab, node)
	return "", false
}

// countLabProcs counts live processes descending from lab's node inits.
func countLabProcs(lab string) int {
	n := 0
	for _, p := range foreignPidnsProcs() {
		if strings.HasSuffix(p, " [lab="+lab+"]") {
			n++
		}
	}
	return n
}

// TestOrphansReapedNoZombies: 100 processes orphaned inside a node are all
// reaped by its init; none is left a zombie.
func TestOrphansReapedNoZombies(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("orph.yaml", labOf("rlorphan", 1))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rlorphan")
	e.must("exec", "n0", "--", "sh", "-c", "for i in $(seq 100); do (sleep 0.2 &) ; done")
	zombies := func() int {
		out := e.must("exec", "n0", "--", "sh", "-c", "grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l")
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return n
	}
	waitFor(t, "orphans to exit and be reaped", deployWait, func() bool {
		out := e.must("exec", "n0", "--", "sh", "-c", "pidof sleep | wc -w")
		return strings.TrimSpace(out) == "0" && zombies() == 0
	})
}

// TestInitForwardsSIGTERMToService: SIGTERM sent to a node's init reaches
// its service (which traps it and records it), and exec passes exit codes
// through (the contract of TestExecExitCodes, here with a signal death).
func TestInitForwardsSIGTERMToService(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("term.yaml", "name: rlterm\nnodes:\n  n0:\n    cmd: [sh, -c, \"trap 'echo got-term > /term; exit 0' TERM; while true; do sleep 0.1; done\"]\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rlterm")
	if r := e.run("exec", "n0", "--", "sh", "-c", "kill -9 $$"); r.code != 128+9 {
		t.Errorf("command killed by SIGKILL: exit %d, want 137", r.code)
	}
	// Signal the service's init from the host; init must pass it on.
	syscall.Kill(e.pids("rlterm")["n0"], syscall.SIGTERM)
	waitFor(t, "the service to record SIGTERM", deployWait, func() bool {
		return strings.Contains(statusText(e, "n0"), "got-term")
	})
}

// statusText reads the service's record, or "" while the node is gone.
func statusText(e *env, node string) string {
	r := e.run("exec", node, "--", "cat", "/term")
	if r.code == 0 {
		return r.stdout
	}
	// The node may already have exited after its service did: the record
	// then lives in its upper layer.
	b, _ := os.ReadFile(e.root + "/labs/rlterm/nodes/" + node + "/upper/term")
	return string(b)
}

// soak runs cycles deploy/destroy rounds of a 20-node lab and checks that
// leolab's own footprint stays flat: no fd, host link or mount accrues.
func soak(t *testing.T, cycles int) {
	e := newEnv(t)
	topo := e.writeTopo("soak.yaml", labOf("rlsoak", 20))
	measure := func() (fds, links, mnts int) {
		return openFds(), len(hostLinks(t)), len(hostMounts())
	}
	// Round 0 warms up (image cache, /run/netns bind, iptables tables).
	e.must("-q", "deploy", topo)
	e.must("destroy", "--lab", "rlsoak")
	fds0, links0, mnts0 := measure()
	for i := 0; i < cycles; i++ {
		e.must("-q", "deploy", topo)
		e.must("exec", "rlsoak/n0", "--", "ping", "-c1", "-W2", "n19")
		fdsUp := leolabFds(e, "rlsoak")
		e.must("destroy", "--lab", "rlsoak")
		fds, links, mnts := measure()
		if fds != fds0 || links != links0 || mnts != mnts0 {
			t.Fatalf("cycle %d: fds %d→%d, links %d→%d, mounts %d→%d", i, fds0, fds, links0, links, mnts0, mnts)
		}
		if i == 0 {
			t.Logf("a running node init holds %d fds", fdsUp)
		} else if fdsUp != leolabFdsFirst {
			t.Fatalf("cycle %d: a node init holds %d fds, the first cycle's held %d", i, fdsUp, leolabFdsFirst)
		}
		leolabFdsFirst = fdsUp
	}
}

var leolabFdsFirst int

// leolabFds is the fd count of the first node's init: leolab's own
// long-lived process, where a leak per exec or per deploy would show.
func leolabFds(e *env, lab string) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", e.pids(lab)["n0"]))
	return len(ents)
}

func openFds() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// hostLinks lists the host's links (on a shared host, the soak lab's only).
func hostLinks(t *testing.T) []string {
	var out []string
	for _, l := range links(t) {
		if !sharedHost || strings.Contains(l, " leolab:rlsoak:") {
			out = append(out, l)
		}
	}
	return out
}

// hostMounts lists the host's mounts (on a shared host, the soak lab's only).
func hostMounts() []string {
	var out []string
	for _, m := range mounts() {
		if !sharedHost || strings.HasPrefix(m, "/run/netns/rlsoak-") {
			out = append(out, m)
		}
	}
	return out
}

// TestSoakShort is the soak in `make test`: ten cycles. `make soak` runs
// TestSoak with LEOLAB_SOAK_CYCLES=200.
func TestSoakShort(t *testing.T) {
	if os.Getenv("LEOLAB_SOAK_CYCLES") != "" {
		t.Skip("the long soak runs instead")
	}
	soak(t, 10)
}

// TestSoak runs LEOLAB_SOAK_CYCLES cycles (make soak: 200).
func TestSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LEOLAB_SOAK_CYCLES"))
	if n == 0 {
		t.Skip("set LEOLAB_SOAK_CYCLES (make soak)")
	}
	soak(t, n)
}
