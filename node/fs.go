package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/nodespec"
)

// checkRootDirs refuses a root whose /proc, /sys or /dev is a symlink or not
// a directory: mounting onto such a path would land on the host (a known
// container escape). Missing ones are created.
func checkRootDirs(root string) error {
	for _, d := range []string{"proc", "sys", "dev"} {
		p := filepath.Join(root, d)
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(p, 0o555); err != nil {
				return fmt.Errorf("create /%s in root: %w", d, err)
			}
		case err != nil:
			return fmt.Errorf("inspect /%s in root: %w", d, err)
		case st.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("rootfs /%s is a symlink: refusing it (it could redirect mounts onto the host)", d)
		case !st.IsDir():
			return fmt.Errorf("rootfs /%s is not a directory: refusing it", d)
		}
	}
	return nil
}

// devNodes are bind-mounted from the host's /dev: mknod is denied inside a
// user namespace, and binding works either way.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// DefaultTmpfsSize caps each tmpfs of a node that sets neither
// limits.tmpfs nor a memory limit.
const DefaultTmpfsSize = 64 << 20

// tmpfsSize is the cap of each tmpfs mounted in a node (/dev, /dev/shm,
// /tmp): limits.tmpfs, else the node's memory limit, else
// DefaultTmpfsSize. Unbounded, each could take half the host's memory.
func tmpfsSize(l nodespec.Limits) int64 {
	switch {
	case l.TmpfsBytes > 0:
		return l.TmpfsBytes
	case l.MemoryBytes > 0:
		return l.MemoryBytes
	}
	return DefaultTmpfsSize
}

// tmpfsData is the mount data of a node's tmpfs: its mode, its size, and
// one inode per KiB of it (the kernel's default, half the host's pages,
// would let empty files take host memory the size does not count).
func tmpfsData(mode string, size int64) string {
	return fmt.Sprintf("mode=%s,size=%d,nr_inodes=%d", mode, size, max(size/1024, 1024))
}

// mountSpecial mounts /proc, /sys, /dev and /tmp of the node, each tmpfs
// capped at tmpfs bytes.
func mountSpecial(root string, tmpfs int64) error {
	const safe = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	steps := []struct {
		rel, src, fstype string
		flags            uintptr
		data             string
	}{
		// proc of the node's own PID namespace (we are its PID 1).
		{"proc", "proc", "proc", safe, ""},
		// sysfs mounted from inside the node's netns shows its interfaces only.
		{"sys", "sysfs", "sysfs", safe | unix.MS_RDONLY, ""},
		{"dev", "tmpfs", "tmpfs", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, tmpfsData("755", tmpfs)},
	}
	for _, s := range steps {
		if err := mountIn(root, s.rel, s.src, s.fstype, s.flags, s.data); err != nil {
			return err
		}
	}
	if err := populateDev(filepath.Join(root, "dev"), tmpfs); err != nil {
		return err
	}
	return mountIn(root, "tmp", "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpfsData("1777", tmpfs))
}

// mountIn mounts onto rel inside root (resolved within root, created if missing).
func mountIn(root, rel, src, fstype string, flags uintptr, data string) error {
	t, err := targetIn(root, rel, true, "")
	if err != nil {
		return err
	}
	defer t.close()
	if err := unix.Mount(src, t.path(), fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on /%s: %w", fstype, rel, err)
	}
	return nil
}

// populateDev fills the node's fresh tmpfs /dev (which nothing of the image
// can reach into yet, so plain paths are safe).
func populateDev(dev string, tmpfs int64) error {
	for _, n := range devNodes {
		p := filepath.Join(dev, n)
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return fmt.Errorf("create /dev/%s: %w", n, err)
		}
		if err := unix.Mount("/dev/"+n, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", n, err)
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return fmt.Errorf("create /dev/%s: %w", d, err)
		}
	}
	// A private devpts instance: the node's ptys are its own, not the host's.
	if err := unix.Mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mount /dev/pts: %w", err)
	}
	if err := unix.Mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, tmpfsData("1777", tmpfs)); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	links := [][2]string{
		{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return fmt.Errorf("link /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// mountBinds makes each bind's host source visible at its target.
func mountBinds(root string, spec *Spec) error {
	for _, b := range spec.Binds {
		if err := bindOne(root, b.Source, b.Target, b.ReadOnly); err != nil {
			return fmt.Errorf("bind %s on %s: %w", b.Source, b.Target, err)
		}
	}
	return nil
}

func bindOne(root, source, target string, ro bool) error {
	if _, err := os.Stat(source); err != nil {
		return err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if errors.Is(err, unix.ENOSYS) {
		return bindByHand(root, source, target, ro)
	}
	if err != nil {
		return fmt.Errorf("clone source: %w", err)
	}
	defer unix.Close(fd)
	if ro {
		// Read-only before it is attached: the node never sees it writable.
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
		if errors.Is(err, unix.ENOSYS) {
			return bindByHand(root, source, target, ro)
		}
		if err != nil {
			return fmt.Errorf("make read-only: %w", err)
		}
	}
	return attachAt(root, target, fd, true, source)
}

// pivot makes root the node's "/" and drops every host mount.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir to root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one ...
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	// ... so detaching "." removes the whole host tree from the node.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// writeEtc writes the node's /etc/hosts (copied from hosts when not nil),
// /etc/hostname and /etc/resolv.conf (we are pivoted: paths resolve inside
// the node).
func writeEtc(spec *Spec, hosts io.Reader, resolv string) error {
	if err := os.MkdirAll("/etc", 0o755); err != nil {
		return fmt.Errorf("create /etc: %w", err)
	}
	if hosts == nil {
		hosts = strings.NewReader(spec.Hosts)
	}
	files := []struct {
		path string
		data io.Reader
	}{
		{"/etc/hosts", hosts},
		{"/etc/hostname", strings.NewReader(hostname(spec) + "\n")},
		{"/etc/resolv.conf", strings.NewReader(resolv)},
	}
	for _, f := range files {
		if err := writeEtcFile(f.path, f.data); err != nil {
			return err
		}
	}
	return nil
}

func writeEtcFile(path string, data io.Reader) error {
	// An image's symlink here (e.g. to systemd's stub) is replaced.
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		os.Remove(path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = io.Copy(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
