//go:build linux

package node

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"leolab/internal/nstest"
)

func TestCloexecByHand(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	if err := cloexecByHand(fd); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d flags %#x after cloexecByHand, want FD_CLOEXEC (%v)", fd, flags, err)
	}
}

// TestResolveInRootMatchesOpenat2: the fallback resolves like openat2's
// RESOLVE_IN_ROOT: absolute and climbing symlinks stay inside the root.
func TestResolveInRootMatchesOpenat2(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"b", "etc", "deep/er"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "b/x"), []byte("x"), 0o644)
	os.Symlink("/b", filepath.Join(root, "abs"))
	os.Symlink("../../../../etc", filepath.Join(root, "deep/er/up"))
	os.Symlink("loop", filepath.Join(root, "loop"))
	for _, c := range []struct{ rel, want string }{
		{"abs/x", "b/x"},
		{"deep/er/up/passwd", "etc/passwd"},
		{"../../etc/passwd", "etc/passwd"},
		{"b/../abs/x", "b/x"},
		{"missing/y", "missing/y"},
	} {
		got, err := resolveInRoot(root, c.rel)
		if err != nil || got != filepath.Join(root, c.want) {
			t.Errorf("resolveInRoot(%q) = %q, %v; want %q", c.rel, got, err, filepath.Join(root, c.want))
		}
		if c.rel == "missing/y" {
			continue
		}
		byHand, err := openInRootByHand(root, c.rel, unix.O_PATH|unix.O_CLOEXEC)
		if err != nil {
			t.Errorf("openInRootByHand(%q): %v", c.rel, err)
			continue
		}
		native, err := openInRoot(root, c.rel)
		if err != nil {
			t.Fatalf("openat2 %q: %v", c.rel, err)
		}
		var a, b unix.Stat_t
		unix.Fstat(byHand, &a)
		unix.Fstat(native, &b)
		if a.Ino != b.Ino || a.Dev != b.Dev {
			t.Errorf("%q: fallback and openat2 reach different files", c.rel)
		}
		unix.Close(byHand)
		unix.Close(native)
	}
	if _, err := resolveInRoot(root, "loop/x"); !errors.Is(err, unix.ELOOP) {
		t.Errorf("symlink loop: %v, want ELOOP", err)
	}
}

// TestBindByHand: the mount(2)-only bind lands inside the root even through
// an absolute symlink, and read-only means read-only.
func TestBindByHand(t *testing.T) {
	nstest.RequireRoot(t)
	root, src := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("from host\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "mnt"), 0o755)
	os.Symlink("/mnt", filepath.Join(root, "link"))
	if err := bindByHand(root, src, "link/data", true); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "mnt/data")
	t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })
	if b, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(b) != "from host\n" {
		t.Errorf("bound file: %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(target, "g"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write into the read-only bind: %v, want EROFS", err)
	}
	if _, err := os.Stat("/mnt/data/f"); err == nil {
		t.Error("the bind escaped the root through the absolute symlink")
	}
}
