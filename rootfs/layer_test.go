//go:build linux

package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"leolab/internal/nstest"
	"leolab/internal/spec/mountspec"
)

func TestBusyboxErrors(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	t.Setenv("LEOLAB_BUSYBOX", "/nonexistent/busybox")
	_, err := s.Prepare(context.Background(), "busybox", "")
	if !errors.Is(err, ErrNoBusybox) || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("missing busybox: %v", err)
	}
	dynamic, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls")
	}
	t.Setenv("LEOLAB_BUSYBOX", dynamic)
	_, err = s.Prepare(context.Background(), "", "")
	if !errors.Is(err, ErrNoBusybox) || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("dynamic busybox: %v", err)
	}
}

func prepareBusybox(t testing.TB, s *Store) Image {
	t.Helper()
	if err := checkStatic(busyboxPath()); err != nil {
		t.Skipf("no static busybox: %v", err)
	}
	img, err := s.Prepare(context.Background(), "busybox", "")
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBusyboxTree(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	img := prepareBusybox(t, s)
	if img.Kind != KindBusybox || !isDigest(img.Digest) {
		t.Errorf("image %+v", img)
	}
	for _, applet := range []string{"bin/sh", "sbin/ip", "bin/ping"} {
		if l, err := os.Readlink(filepath.Join(img.Dir, applet)); err != nil || l != "/bin/busybox" {
			t.Errorf("applet %s: %q %v", applet, l, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(img.Dir, "bin/busybox")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/busybox: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(img.Dir, "etc/passwd"))
	if !strings.HasPrefix(string(b), "root:x:0:0:") {
		t.Errorf("passwd: %q", b)
	}
	b, _ = os.ReadFile(filepath.Join(img.Dir, "etc/profile"))
	if !strings.Contains(string(b), `PS1='\h:\w\$ '`) {
		t.Errorf("profile: %q", b)
	}
	if fi, err := os.Stat(filepath.Join(img.Dir, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmp: %v %v", fi, err)
	}
	before := builds.Load()
	if again := prepareBusybox(t, s); again != img || builds.Load() != before {
		t.Errorf("warm busybox rebuilt or changed: %+v", again)
	}
}

// TestOverlayIsolation performs the returned mounts in a throwaway mount
// namespace and checks node layers do not see each other's writes.
func TestOverlayIsolation(t *testing.T) {
	nstest.RequireRoot(t)
	tmp := t.TempDir()
	s := &Store{Root: filepath.Join(tmp, "root")}
	img := prepareBusybox(t, s)
	if !s.overlayOK() {
		t.Skip("overlayfs unavailable")
	}
	nodes := []string{filepath.Join(tmp, "lab/a"), filepath.Join(tmp, "lab/b")}
	var all [][]mountspec.Mount
	for _, n := range nodes {
		ms, err := s.NodeMounts(img, n, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].FSType != "overlay" || ms[0].Target != "" {
			t.Fatalf("mounts %+v", ms)
		}
		all = append(all, ms)
	}
	inMountNS(t, func() error {
		for i, n := range nodes {
			if err := os.MkdirAll(filepath.Join(n, "merged"), 0o755); err != nil {
				return err
			}
			if err := applyMounts(filepath.Join(n, "merged"), all[i]); err != nil {
				return err
			}
		}
		a, b := filepath.Join(nodes[0], "merged"), filepath.Join(nodes[1], "merged")
		if err := os.WriteFile(filepath.Join(a, "etc/only-a"), []byte("a"), 0o644); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(a, "bin/ping")); err != nil {
			return err
		}
		if _, err := os.Lstat(filepath.Join(b, "etc/only-a")); err == nil {
			return errors.New("node b sees node a's file")
		}
		if _, err := os.Lstat(filepath.Join(b, "bin/ping")); err != nil {
			return fmt.Errorf("node a's delete reached node b: %w", err)
		}
		// The node runs: chroot into the merged root and use the image's shell.
		cmd := exec.Command("/bin/sh", "-c", "cat /etc/only-a; echo x > /tmp/t; cat /tmp/t")
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: a}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "ax\n" {
			return fmt.Errorf("shell in node a: %q %v", out, err)
		}
		return nil
	})
	if _, err := os.Lstat(filepath.Join(img.Dir, "etc/only-a")); err == nil {
		t.Error("the image sees node a's file")
	}
	if _, err := os.Lstat(filepath.Join(img.Dir, "bin/ping")); err != nil {
		t.Error("node a's delete reached the image")
	}
	if _, err := os.Stat(filepath.Join(nodes[0], "upper/etc/only-a")); err != nil {
		t.Errorf("write not in node a's upper: %v", err)
	}
	if m := mountsUnder(t, tmp); len(m) != 0 {
		t.Errorf("mounts leaked on the host: %v", m)
	}
	// A redeploy starts from the clean image.
	if _, err := s.NodeMounts(img, nodes[0], false); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(filepath.Join(nodes[0], "upper")); err != nil || len(ents) != 0 {
		t.Errorf("redeployed upper not empty: %v %v", ents, err)
	}
	for _, n := range nodes {
		if err := RemoveNodeLayer(n); err != nil {
			t.Fatal(err)
		}
		if err := RemoveNodeLayer(n); err != nil { // idempotent
			t.Fatal(err)
		}
		for _, d := range []string{"upper", "work", "rootfs"} {
			if _, err := os.Lstat(filepath.Join(n, d)); err == nil {
				t.Errorf("%s/%s left", n, d)
			}
		}
	}
}

func TestCopyLayer(t *testing.T) {
	nstest.RequireRoot(t)
	tmp := t.TempDir()
	s := &Store{Root: filepath.Join(tmp, "root")}
	h := &hostile{dir: tmp, s: s}
	img, err := h.prepare(t, tarBytes(t,
		entry{name: "bin/su", typ: '0', mode: 0o4755, uid: 7, body: "su"},
		file("a", "data"), hardlink("b", "a"), symlink("l", "/a"), dir("d"),
		entry{name: "tmp", typ: '5', mode: 0o1777},
	))
	if err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(tmp, "node")
	ms, err := s.NodeMounts(img, node, true)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(node, "rootfs")
	if len(ms) != 1 || ms[0].Source != root || ms[0].Flags != unix.MS_BIND {
		t.Fatalf("mounts %+v", ms)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "bin/su"), &st); err != nil || st.Mode&0o7777 != 0o4755 || st.Uid != 7 {
		t.Errorf("bin/su: mode %o uid %d %v", st.Mode, st.Uid, err)
	}
	if err := unix.Lstat(filepath.Join(root, "b"), &st); err != nil || st.Nlink != 2 {
		t.Errorf("hardlink lost: nlink %d", st.Nlink)
	}
	if l, _ := os.Readlink(filepath.Join(root, "l")); l != "/a" {
		t.Errorf("symlink: %q", l)
	}
	if err := unix.Lstat(filepath.Join(root, "tmp"), &st); err != nil || st.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp mode %o", st.Mode)
	}
	if err := RemoveNodeLayer(node); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(root); err == nil {
		t.Error("copy left")
	}
}

// TestRemoveNodeLayerKeepsMounts: a host directory bind-mounted inside the
// node layer survives RemoveNodeLayer.
func TestRemoveNodeLayerKeepsMounts(t *testing.T) {
	nstest.RequireRoot(t)
	tmp := t.TempDir()
	hostDir := filepath.Join(tmp, "host-data")
	os.MkdirAll(hostDir, 0o755)
	writeFile(t, filepath.Join(hostDir, "precious"), []byte("keep"))
	node := filepath.Join(tmp, "node")
	for _, d := range []string{"upper/etc/app", "upper/x/y", "work/work", "rootfs/bin"} {
		if err := os.MkdirAll(filepath.Join(node, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(node, "upper/x/y/f"), []byte("1"))
	writeFile(t, filepath.Join(node, "rootfs/bin/f"), []byte("1"))
	inMountNS(t, func() error {
		if err := unix.Mount(hostDir, filepath.Join(node, "upper/etc/app"), "", unix.MS_BIND, ""); err != nil {
			return err
		}
		err := RemoveNodeLayer(node)
		if err == nil || !strings.Contains(err.Error(), "upper/etc/app: it is a mount point") {
			return fmt.Errorf("RemoveNodeLayer over a bind mount: %v", err)
		}
		return nil
	})
	mustRead(t, filepath.Join(hostDir, "precious"), "keep")
	for _, gone := range []string{"upper/x", "work", "rootfs"} {
		if _, err := os.Lstat(filepath.Join(node, gone)); err == nil {
			t.Errorf("%s not removed", gone)
		}
	}
	if m := mountsUnder(t, tmp); len(m) != 0 {
		t.Errorf("mounts leaked on the host: %v", m)
	}
}

// TestRemoveContentsKeepsMountsAndKept: RemoveContents (a lab directory's
// teardown) removes everything but the kept entry and never deletes
// through a mount point.
func TestRemoveContentsKeepsMountsAndKept(t *testing.T) {
	nstest.RequireRoot(t)
	dir := t.TempDir()
	keep := writeFile(t, filepath.Join(dir, "state.json"), nil)
	os.MkdirAll(filepath.Join(dir, "nodes", "a"), 0o755)
	writeFile(t, filepath.Join(dir, "nodes", "a", "f"), nil)
	if err := RemoveContents(dir, "state.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("kept file removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nodes")); !os.IsNotExist(err) {
		t.Errorf("nodes dir not removed: %v", err)
	}
	if err := RemoveContents(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing dir: %v", err)
	}

	// A host directory mounted inside the tree must survive.
	mnt := filepath.Join(dir, "nodes", "b", "bind")
	os.MkdirAll(mnt, 0o755)
	inMountNS(t, func() error {
		if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
			return err
		}
		sentinel := filepath.Join(mnt, "precious")
		if err := os.WriteFile(sentinel, []byte("x"), 0o600); err != nil {
			return err
		}
		if err := RemoveContents(dir, "state.json"); err == nil || !strings.Contains(err.Error(), "nodes/b/bind: it is a mount point") {
			return fmt.Errorf("remove across a mount point: err = %v", err)
		}
		if _, err := os.Stat(sentinel); err != nil {
			return fmt.Errorf("file under the mount point removed: %v", err)
		}
		return nil
	})
	if m := mountsUnder(t, dir); len(m) != 0 {
		t.Errorf("mounts leaked on the host: %v", m)
	}
}

func TestHostMounts(t *testing.T) {
	nstest.RequireRoot(t)
	tmp := t.TempDir()
	s := &Store{Root: filepath.Join(tmp, "root")}
	img, err := s.Prepare(context.Background(), "host", "")
	if err != nil || img.Kind != KindHost || img.Dir == "" {
		t.Fatalf("host image %+v %v", img, err)
	}
	node := filepath.Join(tmp, "node")
	ms, err := s.NodeMounts(img, node, false)
	if err != nil {
		t.Fatal(err)
	}
	inMountNS(t, func() error {
		root := filepath.Join(node, "merged")
		os.Mkdir(root, 0o755)
		if err := applyMounts(root, ms); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "usr/leolab-test"), nil, 0o644); !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("write to /usr: %v, want EROFS", err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("private\n"), 0o644); err != nil {
			return fmt.Errorf("write to private /etc: %w", err)
		}
		cmd := exec.Command("/bin/sh", "-c", "ls / >/dev/null && id -u")
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "0" {
			return fmt.Errorf("shell in host node: %q %v", out, err)
		}
		return nil
	})
	if b, _ := os.ReadFile("/etc/passwd"); strings.HasPrefix(string(b), "private") {
		t.Fatal("host /etc/passwd was written")
	}
	if fi, err := os.Lstat("/bin"); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if l, _ := os.Readlink(filepath.Join(img.Dir, "bin")); l == "" {
			t.Error("/bin symlink not recreated")
		}
	}
	if m := mountsUnder(t, tmp); len(m) != 0 {
		t.Errorf("mounts leaked on the host: %v", m)
	}
	if err := RemoveNodeLayer(node); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkNodeMounts(b *testing.B) {
	nstest.RequireRoot(b)
	tmp := b.TempDir()
	s := &Store{Root: filepath.Join(tmp, "root")}
	img := prepareBusybox(b, s)
	host, err := s.Prepare(context.Background(), "host", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"overlay", "copy", "host"} {
		b.Run(mode, func(b *testing.B) {
			if mode == "overlay" && !s.overlayOK() {
				b.Skip("overlayfs unavailable")
			}
			im := img
			if mode == "host" {
				im = host
			}
			i := 0
			for b.Loop() {
				i++
				if _, err := s.NodeMounts(im, filepath.Join(tmp, mode, fmt.Sprint(i)), mode == "copy"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrepareWarm: a cached busybox costs a stat and an index read.
func BenchmarkPrepareWarm(b *testing.B) {
	s := &Store{Root: b.TempDir()}
	prepareBusybox(b, s)
	for b.Loop() {
		if _, err := s.Prepare(context.Background(), "busybox", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHostSkeleton builds the host image from a fake host tree and checks a
// change to the host's /etc gives a new skeleton.
func TestHostSkeleton(t *testing.T) {
	nstest.RequireRoot(t)
	tmp := t.TempDir()
	fake := filepath.Join(tmp, "host")
	for _, d := range []string{"usr/bin", "lib64", "etc/ssl/certs", "run"} {
		os.MkdirAll(filepath.Join(fake, d), 0o755)
	}
	os.Symlink("usr/bin", filepath.Join(fake, "bin"))
	writeFile(t, filepath.Join(fake, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"))
	writeFile(t, filepath.Join(fake, "run/resolv"), []byte("nameserver 192.0.2.1\n"))
	os.Symlink("/nonexistent-ca.pem", filepath.Join(fake, "etc/ssl/certs/ca.pem"))
	os.Symlink(filepath.Join(fake, "run/resolv"), filepath.Join(fake, "etc/resolv.conf"))
	old := hostFS
	hostFS = fake
	defer func() { hostFS = old }()

	s := &Store{Root: filepath.Join(tmp, "root")}
	img, err := s.Prepare(context.Background(), "host", "")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(img.Dir, "bin")); err != nil || l != "usr/bin" {
		t.Errorf("bin: %q %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(img.Dir, "etc/ssl/certs/ca.pem")); err != nil || l != "/nonexistent-ca.pem" {
		t.Errorf("etc/ssl symlink: %q %v", l, err)
	}
	mustRead(t, filepath.Join(img.Dir, "etc/resolv.conf"), "nameserver 192.0.2.1\n")
	ms, err := s.NodeMounts(img, filepath.Join(tmp, "node"), true)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range ms {
		targets = append(targets, m.Target)
	}
	if strings.Join(targets, ",") != ",usr,lib64" || ms[1].Remount&unix.MS_RDONLY == 0 {
		t.Errorf("mounts %+v", ms)
	}
	writeFile(t, filepath.Join(fake, "etc/passwd"), []byte("root:x:0:0::/root:/bin/bash\n"))
	img2, err := s.Prepare(context.Background(), "host", "")
	if err != nil || img2.Digest == img.Digest {
		t.Errorf("host /etc changed but the skeleton did not: %v", err)
	}
}

func TestNodeMountsRefusesEmptyImage(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	if _, err := s.NodeMounts(Image{Source: "x"}, filepath.Join(t.TempDir(), "n"), false); err == nil {
		t.Error("an image without a tree was accepted")
	}
	if _, err := s.NodeMounts(Image{Source: "x", Dir: "/"}, filepath.Join(t.TempDir(), "n"), false); err == nil {
		t.Error("the host root as an image was accepted")
	}
}
