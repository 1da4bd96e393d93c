package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/mountspec"
)

// The `host` image is a small cached skeleton tree: empty mount points, the
// host's top-level symlinks (bin -> usr/bin on merged-/usr hosts) and a copy
// of part of the host's /etc. Each node gets it like any image (overlay or
// copy, so its /etc is private and writable), and then the host's /usr and
// /lib* directories bind-mounted read-only on top.
var (
	hostBinds    = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}
	hostEtc      = []string{"passwd", "group", "shadow", "nsswitch.conf", "profile", "bash.bashrc", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "services", "protocols", "hosts", "resolv.conf"}
	hostEtcDeref = map[string]bool{"hosts": true, "resolv.conf": true} // often symlinks into /run
	hostDirs     = []struct {
		name string
		mode uint32
	}{
		{"etc", 0o755}, {"tmp", 0o1777}, {"var", 0o755}, {"var/tmp", 0o1777}, {"var/log", 0o755},
		{"var/lib", 0o755}, {"root", 0o700}, {"run", 0o755}, {"proc", 0o555}, {"sys", 0o555},
		{"dev", 0o755}, {"home", 0o755}, {"mnt", 0o755},
	}
)

// hostFS is the host root the skeleton is made from (a var for tests).
var hostFS = "/"

// hostRecipe versions the skeleton layout; bump it when it changes.
const hostRecipe = "leolab-host-skeleton-v1"

// prepareHost caches the skeleton by a fingerprint of everything it copies
// from the host (names, types, sizes, mtimes, link targets), so an edit of
// the host's /etc gives a fresh skeleton on the next deploy.
func (s *Store) prepareHost(ctx context.Context) (Image, error) {
	digest, err := hostFingerprint()
	if err != nil {
		return Image{}, err
	}
	m := meta{Source: KindHost, Kind: KindHost, Digest: digest}
	err = s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		return 0, buildHostSkeleton(dir)
	})
	if err != nil {
		return Image{}, err
	}
	return s.image(KindHost, KindHost, digest), nil
}

func hostFingerprint() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", hostRecipe)
	add := func(p string, fi fs.FileInfo) {
		link, _ := os.Readlink(p)
		st, _ := fi.Sys().(*syscall.Stat_t)
		var ino uint64
		if st != nil {
			ino = st.Ino
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00%d\x00%s\x00", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), ino, link)
	}
	for _, name := range hostBinds {
		if fi, err := os.Lstat(filepath.Join(hostFS, name)); err == nil {
			add(name, fi)
		}
	}
	for _, name := range hostEtc {
		p := filepath.Join(hostFS, "etc", name)
		if hostEtcDeref[name] {
			if fi, err := os.Stat(p); err == nil {
				add(p, fi)
			}
			continue
		}
		err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // vanished or unreadable: the copy will tell
			}
			if fi, err := d.Info(); err == nil {
				add(q, fi)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func buildHostSkeleton(skel string) error {
	if err := os.Mkdir(skel, 0o755); err != nil {
		return err
	}
	if err := unix.Chmod(skel, 0o755); err != nil {
		return err
	}
	for _, d := range hostDirs {
		p := filepath.Join(skel, d.name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := unix.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	if err := os.Symlink("/run", filepath.Join(skel, "var/run")); err != nil {
		return err
	}
	for _, name := range hostBinds {
		if err := hostBindPoint(skel, name); err != nil {
			return err
		}
	}
	return copyHostEtc(filepath.Join(skel, "etc"))
}

// hostBindPoint recreates a top-level symlink of the host (bin -> usr/bin on
// merged-/usr hosts), or an empty directory to bind the host's one on.
func hostBindPoint(skel, name string) error {
	fi, err := os.Lstat(filepath.Join(hostFS, name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(filepath.Join(hostFS, name))
		if err != nil {
			return err
		}
		return os.Symlink(target, filepath.Join(skel, name))
	case fi.IsDir():
		return os.Mkdir(filepath.Join(skel, name), 0o755)
	}
	return nil
}

// hostBindMounts bind-mounts, read-only, the host directories the skeleton
// has a mount point for.
func hostBindMounts(skel string) []mountspec.Mount {
	var out []mountspec.Mount
	for _, name := range hostBinds {
		fi, err := os.Lstat(filepath.Join(skel, name))
		if err != nil || !fi.IsDir() {
			continue
		}
		src := filepath.Join(hostFS, name)
		out = append(out, mountspec.Mount{
			Source: src, Target: name, Flags: unix.MS_BIND | unix.MS_REC,
			Remount: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | lockedFlags(src),
		})
	}
	return out
}

// lockedFlags are the source mount's nosuid/nodev/noexec/atime flags: a
// read-only remount must repeat them (inside a user namespace it fails
// otherwise, and outside it would silently drop them).
func lockedFlags(path string) uintptr {
	var sfs unix.Statfs_t
	if unix.Statfs(path, &sfs) != nil {
		return 0
	}
	var out uintptr
	for st, ms := range map[int64]uintptr{
		unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV, unix.ST_NOEXEC: unix.MS_NOEXEC,
		unix.ST_NOATIME: unix.MS_NOATIME, unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if sfs.Flags&st != 0 {
			out |= ms
		}
	}
	return out
}

func copyHostEtc(dst string) error {
	for _, name := range hostEtc {
		src := filepath.Join(hostFS, "etc", name)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var err error
		if hostEtcDeref[name] {
			err = copyDeref(src, filepath.Join(dst, name))
		} else {
			err = copyTree(src, filepath.Join(dst, name))
		}
		if err != nil {
			return fmt.Errorf("copy /etc/%s: %w", name, err)
		}
	}
	return nil
}

// copyDeref copies the file src points to (skipping a dangling link).
func copyDeref(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if err := copyData(src, dst); err != nil {
		return err
	}
	return os.Chmod(dst, fi.Mode().Perm())
}
