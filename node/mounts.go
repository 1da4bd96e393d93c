package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/mountspec"
)

// rootMounts is spec.RootMounts, or a recursive bind of Root on itself.
func rootMounts(spec *Spec) []mountspec.Mount {
	if len(spec.RootMounts) > 0 {
		return spec.RootMounts
	}
	return []mountspec.Mount{{Source: spec.Root, Flags: unix.MS_BIND | unix.MS_REC}}
}

func isRootTarget(t string) bool { return t == "" || t == "." || t == "/" }

// mountRoot assembles the node's root at spec.Root. With a user namespace
// the parent already made every mount (idmapped) and passed them as fds.
func mountRoot(spec *Spec, idmapped bool, fds []int) error {
	mounts := rootMounts(spec)
	if !isRootTarget(mounts[0].Target) {
		// pivot_root needs the new root to be a mount point.
		if err := unix.Mount(spec.Root, spec.Root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind root %s on itself: %w", spec.Root, err)
		}
	}
	if idmapped && len(fds) != len(mounts) {
		return fmt.Errorf("got %d idmapped root mounts for %d mounts", len(fds), len(mounts))
	}
	for i, m := range mounts {
		var err error
		if idmapped {
			err = attachAt(spec.Root, m.Target, fds[i], m.MkdirTarget, m.Source)
		} else {
			err = applyRootMount(spec.Root, m)
		}
		if err != nil && i == 0 {
			return fmt.Errorf("%w: root mount %d (%s on /%s): %w", ErrRootMount, i, m.Source, m.Target, err)
		}
		if err != nil {
			return fmt.Errorf("root mount %d (%s on /%s): %w", i, m.Source, m.Target, err)
		}
	}
	return nil
}

// applyRootMount performs one mount(2) of the rootfs plan, with its target
// resolved inside the root so image symlinks cannot point it at the host.
func applyRootMount(root string, m mountspec.Mount) error {
	target, err := targetIn(root, m.Target, m.MkdirTarget, m.Source)
	if err != nil {
		return err
	}
	err = unix.Mount(m.Source, target.path(), m.FSType, m.Flags, m.Data)
	target.close()
	if err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	if m.Remount == 0 {
		return nil
	}
	// Reopen: the path now resolves to the new mount, which the remount changes.
	if target, err = targetIn(root, m.Target, false, ""); err != nil {
		return err
	}
	defer target.close()
	if err := unix.Mount("", target.path(), "", m.Remount, ""); err != nil {
		return fmt.Errorf("remount: %w", err)
	}
	return nil
}

// attachAt moves a detached mount fd onto rel inside root.
func attachAt(root, rel string, fd int, mkdir bool, source string) error {
	target, err := targetIn(root, rel, mkdir, source)
	if err != nil {
		return err
	}
	defer target.close()
	if err := unix.MoveMount(fd, "", target.fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach mount: %w", err)
	}
	return nil
}

// pathFd is an O_PATH fd of a mount target; path() names it for mount(2).
type pathFd struct{ fd int }

func (p pathFd) path() string { return fmt.Sprintf("/proc/self/fd/%d", p.fd) }
func (p pathFd) close()       { unix.Close(p.fd) }

// targetIn opens rel inside root, resolving every symlink as if root were
// "/" (so nothing of the image can redirect a mount onto the host). With
// mkdir, missing components are created; the last one as an empty file when
// source is a regular file.
func targetIn(root, rel string, mkdir bool, source string) (pathFd, error) {
	rel = strings.TrimPrefix(filepath.Clean("/"+rel), "/")
	fd, err := openInRoot(root, rel)
	if err == nil || !mkdir || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return pathFd{}, fmt.Errorf("open target /%s: %w", rel, err)
		}
		return pathFd{fd}, nil
	}
	if err := mkdirInRoot(root, rel, isFile(source)); err != nil {
		return pathFd{}, fmt.Errorf("create target /%s: %w", rel, err)
	}
	if fd, err = openInRoot(root, rel); err != nil {
		return pathFd{}, fmt.Errorf("open target /%s: %w", rel, err)
	}
	return pathFd{fd}, nil
}

func isFile(source string) bool {
	if source == "" {
		return false
	}
	st, err := os.Stat(source)
	return err == nil && !st.IsDir()
}

func openInRoot(root, rel string) (int, error) {
	if rel == "" {
		rel = "."
	}
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(rootFd)
	fd, err := unix.Openat2(rootFd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		return openInRootByHand(root, rel, unix.O_PATH|unix.O_CLOEXEC)
	}
	return fd, err
}

// mkdirInRoot creates rel (and its parents) inside root, each step resolved
// within root.
func mkdirInRoot(root, rel string, lastIsFile bool) error {
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rootFd)
	parts := strings.Split(rel, "/")
	dir := ""
	for i, part := range parts {
		parent, err := unix.Openat2(rootFd, dirOrDot(dir), &unix.OpenHow{
			Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT,
		})
		if errors.Is(err, unix.ENOSYS) {
			parent, err = openInRootByHand(root, dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
		}
		if err != nil {
			return err
		}
		if i == len(parts)-1 && lastIsFile {
			err = mknodFile(parent, part)
		} else {
			err = unix.Mkdirat(parent, part, 0o755)
		}
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		dir = filepath.Join(dir, part)
	}
	return nil
}

func dirOrDot(d string) string {
	if d == "" {
		return "."
	}
	return d
}

func mknodFile(dirFd int, name string) error {
	fd, err := unix.Openat(dirFd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
