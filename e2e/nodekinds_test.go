//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeKindsEndToEnd deploys a user-namespace busybox node with a
// read-only bind and limits, and a host-rootfs node with cmd and exec lines,
// joined by a bridge with NAT and a point-to-point link, and checks each
// feature from inside the nodes.
func TestNodeKindsEndToEnd(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("from the host\n"), 0o644)
	topo := e.writeTopo("kinds.yaml", `name: kinds
bridges:
  lan: {nat: true}
nodes:
  u1:
    user_namespace: true
    interfaces: {eth0: lan}
    binds: ["`+src+`:/mnt/b:ro"]
    limits: {memory: 64M, pids: 100}
    env: {ROLE: edge}
  h1:
    rootfs: host
    interfaces: {eth0: lan}
    cmd: ["sleep", "1000"]
    exec: ["ip addr add 10.88.0.1/32 dev lo"]
links:
  - endpoints: [u1:eth1, h1:eth1]
`)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "kinds")

	uidMap := strings.Fields(e.must("exec", "u1", "--", "cat", "/proc/self/uid_map"))
	if len(uidMap) != 3 || uidMap[0] != "0" || uidMap[1] == "0" || uidMap[2] != "65536" {
		t.Errorf("u1 uid_map = %v, want 0 → an unprivileged host range of 65536", uidMap)
	}
	if got := e.must("exec", "u1", "--", "cat", "/mnt/b/f"); got != "from the host\n" {
		t.Errorf("bind content = %q", got)
	}
	if r := e.run("exec", "u1", "--", "sh", "-c", "echo x > /mnt/b/g"); r.code == 0 {
		t.Error("write to a read-only bind succeeded")
	}
	if got := e.must("exec", "u1", "--", "sh", "-c", "echo $ROLE"); got != "edge\n" {
		t.Errorf("env ROLE = %q", got)
	}
	e.must("exec", "u1", "--", "ping", "-c", "1", "-W", "2", "h1-eth1")
	if out := e.must("exec", "u1", "--", "ip", "route"); !strings.Contains(out, "default via 172.20.1.1") {
		t.Errorf("nat bridge gave no default route via .1:\n%s", out)
	}
	ps := e.must("exec", "h1", "--", "ps", "-ef")
	if !strings.Contains(ps, "sleep 1000") {
		t.Errorf("cmd not running in h1:\n%s", ps)
	}
	if out := e.must("exec", "h1", "--", "ip", "addr", "show", "lo"); !strings.Contains(out, "10.88.0.1/32") {
		t.Errorf("exec line did not run:\n%s", out)
	}
	if out := e.must("exec", "h1", "--", "ls", "/usr/bin"); !strings.Contains(out, "ip") {
		t.Errorf("host rootfs lacks the host's /usr/bin")
	}
	if r := e.run("exec", "h1", "--", "touch", "/usr/bin/leolab-probe"); r.code == 0 {
		os.Remove("/usr/bin/leolab-probe")
		t.Error("host rootfs /usr is writable from the node")
	}
}

// TestExecLineFailureRollsBack: a failing exec line fails the deploy with its
// output, and everything is rolled back.
func TestExecLineFailureRollsBack(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("execfail.yaml", `name: execfail
bridges: {lan: {}}
nodes:
  a:
    interfaces: {eth0: lan}
    exec: ["echo about to fail; exit 3"]
`)
	r := e.run("deploy", topo)
	if r.code != 1 || !strings.Contains(r.stderr, "node a") || !strings.Contains(r.stderr, "about to fail") {
		t.Fatalf("deploy with failing exec: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.root, "labs", "execfail")); !os.IsNotExist(err) {
		t.Errorf("lab dir left after rollback: %v", err)
	}
}
