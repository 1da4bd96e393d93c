//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianCache is where the Debian minbase tarball is kept between runs: it
// takes minutes to build and is the same every time.
const debianCache = "/var/cache/leolab-test/debian-bookworm-minbase.tar.gz"

// debianTarball returns a Debian bookworm minbase root filesystem tarball,
// building it with debootstrap on first use; it skips when debootstrap or
// the Debian mirror is not available.
func debianTarball(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(debianCache); err == nil {
		return debianCache
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap not installed (apt-get install debootstrap): skipping the real-distribution test")
	}
	tree := t.TempDir()
	out, err := exec.Command("debootstrap", "--variant=minbase", "bookworm", tree, "http://deb.debian.org/debian").CombinedOutput()
	if err != nil {
		t.Skipf("debootstrap failed (Debian mirror unreachable?): %v\n%s", err, lastLines(string(out), 5))
	}
	if err := os.MkdirAll(filepath.Dir(debianCache), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := debianCache + ".tmp"
	if out, err := exec.Command("tar", "--numeric-owner", "-C", tree, "-czf", tmp, ".").CombinedOutput(); err != nil {
		t.Fatalf("pack debian tree: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, debianCache); err != nil {
		t.Fatal(err)
	}
	return debianCache
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestDebianMinbaseTarballBoots boots a real distribution (the walk-through's
// ubuntu-base, done with Debian's minbase) from a tarball next to a busybox
// node: bash runs as root with the node's hostname, and the two can talk.
func TestDebianMinbaseTarballBoots(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the real-distribution test")
	}
	tarball := debianTarball(t)
	e := newEnv(t)
	topo := e.writeTopo("debian.yaml", `name: debian
bridges: {lan: {}}
nodes:
  deb: {rootfs: "`+tarball+`", interfaces: {eth0: lan}}
  bb: {interfaces: {eth0: lan}}
`)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "debian")
	out := e.must("exec", "deb", "--", "bash", "-c", `echo "$(id -u) $(hostname) $(cat /etc/debian_version)"`)
	f := strings.Fields(out)
	if len(f) != 3 || f[0] != "0" || f[1] != "deb" || !strings.HasPrefix(f[2], "12") {
		t.Errorf("inside the Debian node: %q, want uid 0, hostname deb, Debian 12", out)
	}
	if out := e.must("exec", "deb", "--", "cat", "/etc/hosts"); !strings.Contains(out, "bb") {
		t.Errorf("/etc/hosts lacks bb:\n%s", out)
	}
	e.must("exec", "bb", "--", "ping", "-c", "1", "-W", "2", "deb")
}
