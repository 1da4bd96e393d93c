package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copier copies one tree, keeping hardlinks together.
type copier struct {
	links map[[2]uint64]string // (dev, ino) of a multiply-linked file → its copy
}

// copyTree copies src to dst (which must not exist) preserving owners,
// modes, times, symlinks, hardlinks, fifos and xattrs; file data is
// reflinked where the filesystem allows. Device nodes and sockets are skipped.
func copyTree(src, dst string) error {
	c := &copier{links: map[[2]uint64]string{}}
	return c.copy(src, dst)
}

func (c *copier) copy(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := c.copyDir(src, dst); err != nil {
			return err
		}
	case unix.S_IFREG:
		if done, err := c.linkSeen(&st, dst); done || err != nil {
			return err
		}
		if err := copyData(src, dst); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", dst, err)
		}
		return setTimes(dst, &st)
	case unix.S_IFIFO:
		if err := unix.Mkfifo(dst, 0o600); err != nil {
			return fmt.Errorf("create fifo %s: %w", dst, err)
		}
	default:
		return nil
	}
	return copyAttrs(src, dst, &st)
}

func (c *copier) copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	for _, e := range ents {
		if err := c.copy(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// linkSeen hardlinks dst to an earlier copy of the same inode.
func (c *copier) linkSeen(st *unix.Stat_t, dst string) (bool, error) {
	if st.Nlink < 2 {
		return false, nil
	}
	key := [2]uint64{st.Dev, st.Ino}
	if first, ok := c.links[key]; ok {
		if err := os.Link(first, dst); err != nil {
			return true, fmt.Errorf("link %s: %w", dst, err)
		}
		return true, nil
	}
	c.links[key] = dst
	return false, nil
}

// copyData clones src's blocks into dst (FICLONE) or copies them.
func copyData(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) != nil {
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return fmt.Errorf("copy %s: %w", src, err)
		}
	}
	return out.Close()
}

// copyAttrs sets owner, then mode (chown clears setuid), xattrs (chown
// clears security.capability), then times.
func copyAttrs(src, dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	return setTimes(dst, st)
}

func setTimes(dst string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", dst, err)
	}
	return nil
}

func copyXattrs(src, dst string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size == 0 {
		return nil // no xattrs, or not supported here
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(src, buf)
	if err != nil {
		return nil
	}
	for _, name := range splitNul(buf[:n]) {
		vsize, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, vsize)
		if vsize, err = unix.Lgetxattr(src, name, val); err != nil {
			continue
		}
		err = unix.Lsetxattr(dst, name, val[:vsize], 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("set xattr %s on %s: %w", name, dst, err)
		}
	}
	return nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
