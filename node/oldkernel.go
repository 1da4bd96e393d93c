package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Fallbacks for kernels older than the system calls the runtime prefers
// (SPEC: Linux >= 5.4): close_range's CLOSE_RANGE_CLOEXEC (5.11), openat2
// with RESOLVE_IN_ROOT (5.6) and open_tree/mount_setattr binds (5.2/5.12).
// Each is used only when the preferred call reports ENOSYS (or EINVAL for an
// unknown flag). User-namespace nodes need idmapped mounts (5.12) and have
// no fallback.

// unsupported reports an error meaning "this kernel lacks the call or flag".
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)
}

// cloexecFrom marks every fd >= from close-on-exec.
func cloexecFrom(from int) error {
	err := unix.CloseRange(uint(from), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil || !unsupported(err) {
		return err
	}
	return cloexecByHand(from)
}

// cloexecByHand is cloexecFrom through /proc/self/fd, for kernels < 5.11.
func cloexecByHand(from int) error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < from {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("mark fd %d close-on-exec: %w", fd, err)
		}
	}
	return nil
}

// maxSymlinks bounds symlink expansion, like the kernel's MAXSYMLINKS.
const maxSymlinks = 40

// resolveInRoot returns the path under root that rel names when every
// symlink on the way is read as if root were "/" (what openat2's
// RESOLVE_IN_ROOT does), for kernels < 5.6. It runs in init before any node
// process exists, so nothing in the node can race it.
func resolveInRoot(root, rel string) (string, error) {
	var done []string // resolved components, all inside root
	todo := splitPath(rel)
	links := 0
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := filepath.Join(root, filepath.Join(append(done, part)...))
		fi, err := os.Lstat(cur)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			done = append(done, part) // a missing component ends the walk at open time
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("resolve /%s: %w", rel, unix.ELOOP)
		}
		dest, err := os.Readlink(cur)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(dest, "/") {
			done = nil // absolute: from the node's root
		}
		todo = append(splitPath(dest), todo...)
	}
	return filepath.Join(root, filepath.Join(done...)), nil
}

// splitPath is p's non-empty components.
func splitPath(p string) []string { return splitNonEmpty(p, '/') }

// splitNonEmpty splits s at sep and drops the empty pieces.
func splitNonEmpty(s string, sep rune) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == sep })
}

// openInRootByHand is openInRoot for kernels without openat2.
func openInRootByHand(root, rel string, flags int) (int, error) {
	p, err := resolveInRoot(root, rel)
	if err != nil {
		return -1, err
	}
	return unix.Open(p, flags|unix.O_NOFOLLOW, 0)
}

// bindByHand is bindOne with mount(2) alone, for kernels without
// open_tree/mount_setattr: bind, then remount read-only if asked (the node
// is not running yet, so the brief writable moment is unobservable).
func bindByHand(root, source, target string, ro bool) error {
	t, err := targetIn(root, target, true, source)
	if err != nil {
		return err
	}
	defer t.close()
	if err := unix.Mount(source, t.path(), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if !ro {
		return nil
	}
	t2, err := targetIn(root, target, false, "")
	if err != nil {
		return err
	}
	defer t2.close()
	if err := unix.Mount("", t2.path(), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("make read-only: %w", err)
	}
	return nil
}
