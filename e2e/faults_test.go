//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// labOf returns a topology of n nodes on one bridge, chained in pairs by links.
func labOf(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nbridges: {lan: {}}\nnodes:\n", name)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  n%d: {interfaces: {eth0: lan}}\n", i)
	}
	b.WriteString("links:\n")
	for i := 0; i+1 < n; i += 2 {
		fmt.Fprintf(&b, "  - endpoints: [n%d:eth1, n%d:eth1]\n", i, i+1)
	}
	return b.String()
}

// TestSIGKILLAtRandomPointsOf40NodeDeploy kills a 40-node deploy after a
// random number of its progress lines (so at a random point between any
// two steps of any node); destroy then returns the host to its snapshot.
func TestSIGKILLAtRandomPointsOf40NodeDeploy(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := 0; round < 3; round++ {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			e := newEnv(t)
			topo := e.writeTopo("forty.yaml", labOf("rlkill", 40))
			cmd := exec.Command(binary, "--root", e.root, "deploy", topo)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			after := rng.IntN(80) // a full deploy prints two lines a node
			sc := bufio.NewScanner(stderr)
			for i := 0; i < after && sc.Scan(); i++ {
			}
			cmd.Process.Signal(syscall.SIGKILL)
			for sc.Scan() {
			}
			cmd.Wait()
			t.Logf("killed after %d progress lines", after)
			e.must("destroy", "--lab", "rlkill")
		})
	}
}

// TestDestroyAfterTopologyEdited: destroy FILE uses the recorded state, not
// the file's current nodes, so renaming every node in the file loses nothing.
func TestDestroyAfterTopologyEdited(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("edit.yaml", labOf("rledit", 4))
	e.must("deploy", topo)
	os.WriteFile(topo, []byte("name: rledit\nbridges: {core: {}}\nnodes:\n  x1: {interfaces: {eth0: core}}\n"), 0o644)
	e.must("destroy", topo)
}

// TestDestroyWithTruncatedOrEmptyState: a state file cut short or emptied
// (a crash mid-write on a filesystem without rename atomicity) still
// destroys everything, found by name.
func TestDestroyWithTruncatedOrEmptyState(t *testing.T) {
	for _, how := range []string{"truncated", "empty"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			topo := e.writeTopo("st.yaml", labOf("rlstate", 3))
			e.must("deploy", topo)
			p := filepath.Join(e.root, "labs", "rlstate", "state.json")
			b, _ := os.ReadFile(p)
			if how == "empty" {
				b = nil
			}
			os.WriteFile(p, b[:len(b)/2], 0o600)
			e.must("destroy", "--lab", "rlstate")
		})
	}
}

// tmpfsRoot mounts a small tmpfs on the env's root (a full disk on demand)
// and unmounts it before the env's final snapshot.
func tmpfsRoot(t *testing.T, e *env, size string) {
	t.Helper()
	if err := unix.Mount("tmpfs", e.root, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(e.root, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount tmpfs root: %v", err)
		}
	})
}

// TestFullDiskDuringImageUnpack: a rootfs archive larger than the free
// space fails the deploy with a clear error; nothing is left half-unpacked,
// and destroy finds nothing to leave behind.
func TestFullDiskDuringImageUnpack(t *testing.T) {
	e := newEnv(t)
	tmpfsRoot(t, e, "2m")
	dir := t.TempDir()
	entries := append(baseRootfs(t), tarEntry{name: "filler", body: strings.Repeat("x", 3<<20), typ: '0', mode: 0o644})
	writeArchive(t, filepath.Join(dir, "big.tar.gz"), entries, false)
	topo := filepath.Join(dir, "lab.yaml")
	os.WriteFile(topo, []byte("name: rlfull\nnodes:\n  n1: {rootfs: ./big.tar.gz}\n"), 0o644)
	e.own("rlfull")
	r := e.run("deploy", topo)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left") {
		t.Fatalf("deploy on a full disk: exit %d, want 1 with ENOSPC\n%s", r.code, r.stderr)
	}
	ents, _ := os.ReadDir(filepath.Join(e.root, "images"))
	for _, en := range ents {
		if strings.HasPrefix(en.Name(), ".tmp") || len(en.Name()) == 64 {
			t.Errorf("left in the cache: %s", en.Name())
		}
	}
	e.must("destroy", "--lab", "rlfull")
}

// TestFullDiskDuringStateWrite: with the disk full, a second lab's deploy
// fails clearly; the first lab's state file is byte-for-byte intact and
// it still works; once space is back, destroy of both returns the host.
func TestFullDiskDuringStateWrite(t *testing.T) {
	e := newEnv(t)
	tmpfsRoot(t, e, "8m")
	first := e.writeTopo("one.yaml", labOf("rlfull1", 2))
	second := e.writeTopo("two.yaml", labOf("rlfull2", 2))
	e.must("deploy", first)
	state := filepath.Join(e.root, "labs", "rlfull1", "state.json")
	before, _ := os.ReadFile(state)
	filler := filepath.Join(e.root, "filler")
	f, _ := os.Create(filler)
	for {
		if _, err := f.Write(make([]byte, 64<<10)); err != nil {
			break
		}
	}
	f.Close()
	r := e.run("deploy", second)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left") {
		t.Errorf("deploy on a full disk: exit %d, want 1 with ENOSPC\n%s", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(state); string(now) != string(before) {
		t.Errorf("first lab's state changed while the disk was full")
	}
	e.must("exec", "rlfull1/n0", "--", "true")
	os.Remove(filler)
	e.must("destroy", "--lab", "rlfull2")
	e.must("destroy", "--lab", "rlfull1")
}
