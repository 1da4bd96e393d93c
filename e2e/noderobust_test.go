//go:build linux

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestNodeCgroupNamespaceRootedAtNode: inside a node, /proc/1/cgroup reads
// "/" in every hierarchy (the node's cgroup namespace is rooted at the
// node's own cgroups), and no process of the node sees a host cgroup path.
func TestNodeCgroupNamespaceRootedAtNode(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("cgns.yaml", "name: rncgns\nnodes:\n  plain: {}\n  limited:\n    limits: {memory: 64M, pids: 32, cpus: 0.5}\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rncgns")
	for _, node := range []string{"plain", "limited"} {
		out := e.must("exec", node, "--", "cat", "/proc/1/cgroup")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.SplitN(line, ":", 3)
			if len(f) != 3 || f[2] != "/" {
				t.Errorf("%s: /proc/1/cgroup line %q, want path /", node, line)
			}
		}
		self := e.must("exec", node, "--", "cat", "/proc/self/cgroup")
		if strings.Contains(self, "..") || strings.Contains(self, "leolab") {
			t.Errorf("%s: /proc/self/cgroup shows host paths:\n%s", node, self)
		}
	}
}

// TestSignalsToInitFromInsideNode: a node process signalling its init
// (kill -SIG 1) never ends the node. SIGHUP, SIGINT, SIGQUIT, SIGUSR1 and
// SIGUSR2 reach the node's service; the others are ignored. Only SIGTERM
// (the node's stop signal) is left out; SIGKILL and SIGSTOP the kernel
// never delivers to a namespace's init from inside.
func TestSignalsToInitFromInsideNode(t *testing.T) {
	e := newEnv(t)
	svc := `for s in HUP INT QUIT USR1 USR2; do trap "echo $s >> /sigs" $s; done; while :; do sleep 0.2; done`
	topo := e.writeTopo("sig.yaml", "name: rnsig\nnodes:\n  n:\n    cmd: [sh, -c, '"+svc+"']\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rnsig")
	initPid := e.pids("rnsig")["n"]
	sigs := []int{34, 50, 64}
	for s := 1; s <= 31; s++ {
		if s != int(syscall.SIGKILL) && s != int(syscall.SIGTERM) && s != int(syscall.SIGSTOP) {
			sigs = append(sigs, s)
		}
	}
	for _, s := range sigs {
		e.must("exec", "n", "--", "kill", fmt.Sprintf("-%d", s), "1")
		// Once no signal is pending, init has handled this one (a
		// crash would begin in its handler).
		waitFor(t, fmt.Sprintf("init to take signal %d", s), deployWait, func() bool {
			return !signalPending(initPid)
		})
		if r := e.run("exec", "n", "--", "true"); r.code != 0 {
			t.Fatalf("after kill -%d 1 inside the node: exec exit %d: %s", s, r.code, r.stderr)
		}
	}
	want := []string{"HUP", "INT", "QUIT", "USR1", "USR2"}
	waitFor(t, "the service to record the signals passed on", deployWait, func() bool {
		got := e.must("exec", "n", "--", "cat", "/sigs")
		for _, w := range want {
			if !strings.Contains(got, w+"\n") {
				return false
			}
		}
		return true
	})
	if err := syscall.Kill(initPid, 0); err != nil || isZombie(strconv.Itoa(initPid)) {
		t.Errorf("init %d of the node died: %v", initPid, err)
	}
}

// signalPending reports whether pid has a process-wide signal pending
// (false when it is gone: the caller's next step finds that out).
func signalPending(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ShdPnd:"); ok {
			return strings.Trim(strings.TrimSpace(v), "0") != ""
		}
	}
	return false
}

// TestMemoryLimitOOMKillsTheCommandNotInit: a node's command filling its
// memory limit (dd with a buffer twice the limit, filled from /dev/zero)
// is ended by the OOM killer (exit 137), never the node's init: the node
// still answers. The memory is the killed command's own, so its death
// gives it all back whichever process the kernel picks (a file left on the
// node's tmpfs would keep it charged and make the next exec's fate depend
// on whether a cleanup ran).
func TestMemoryLimitOOMKillsTheCommandNotInit(t *testing.T) {
	e := newEnv(t)
	// /tmp bigger than the memory limit: the limit, not ENOSPC, stops dd.
	topo := e.writeTopo("oom.yaml", "name: rnoom\nnodes:\n  m:\n    limits: {memory: 64M}\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rnoom")
	initPid := e.pids("rnoom")["m"]
	if r := e.run("exec", "m", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"); r.code != 137 {
		t.Errorf("dd past the memory limit: exit %d (%s), want 137 (killed by the OOM killer)", r.code, r.stderr)
	}
	if r := e.run("exec", "m", "--", "true"); r.code != 0 {
		t.Errorf("exec after the OOM kill: exit %d: %s", r.code, r.stderr)
	}
	if now := e.pids("rnoom")["m"]; now != initPid {
		t.Errorf("the node's init was %d, now %d", initPid, now)
	}
	if err := syscall.Kill(initPid, 0); err != nil || isZombie(strconv.Itoa(initPid)) {
		t.Errorf("init %d of the node died: %v", initPid, err)
	}
}

// TestNodeTmpfsCapped: every tmpfs leolab mounts in a node is bounded:
// 64 MiB by default, the node's memory limit when it has one, limits.tmpfs
// when set; writing past the cap fails with ENOSPC.
func TestNodeTmpfsCapped(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("tmpfs.yaml", "name: rntmpfs\nnodes:\n  d: {}\n  m:\n    limits: {memory: 32M}\n  c:\n    limits: {memory: 256M, tmpfs: 8M}\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "rntmpfs")
	for node, kib := range map[string]int{"d": 64 << 10, "m": 32 << 10, "c": 8 << 10} {
		for _, dir := range []string{"/tmp", "/dev/shm", "/dev"} {
			if got := tmpfsKiB(e, node, dir); got != kib {
				t.Errorf("%s: %s holds %d KiB, want %d", node, dir, got, kib)
			}
		}
	}
	for node, mib := range map[string]int{"d": 64, "c": 8} {
		fill := fmt.Sprintf("dd if=/dev/zero of=/tmp/fill bs=1M count=%d", mib+16)
		r := e.run("exec", node, "--", "sh", "-c", fill)
		if r.code == 0 || !strings.Contains(r.stderr, "No space left on device") {
			t.Errorf("%s: writing %d MiB into a %d MiB /tmp: exit %d, %q; want ENOSPC", node, mib+16, mib, r.code, r.stderr)
		}
		size := strings.TrimSpace(e.must("exec", node, "--", "sh", "-c", "wc -c < /tmp/fill"))
		if n, _ := strconv.Atoi(size); n > mib<<20 {
			t.Errorf("%s: /tmp/fill is %d bytes, over the %d MiB cap", node, n, mib)
		}
	}
}

// tmpfsKiB is the size of the filesystem at dir inside node, in KiB.
func tmpfsKiB(e *env, node, dir string) int {
	out := e.must("exec", node, "--", "df", "-k", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 {
		e.t.Fatalf("%s: df -k %s: %q", node, dir, out)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		e.t.Fatalf("%s: df -k %s: %q", node, dir, out)
	}
	return n
}
