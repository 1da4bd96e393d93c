package node

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/mountspec"
	"leolab/internal/wire/ctlwire"
)

// idmappedRootMounts makes each root mount as a detached mount whose ids are
// shifted into the node's user namespace (on-disk uid 0 appears as the
// node's root), so the node's root owns its unshifted rootfs. It runs in
// the parent (host root): only it may idmap host filesystems. Init attaches
// the returned fds in order. A filesystem that cannot be idmapped is an
// error; the fallback is a chown'd copy, which is rootfs's to make.
func idmappedRootMounts(spec Spec, pid int) (fds []int, retErr error) {
	userns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open user namespace of init: %w", err)
	}
	defer unix.Close(userns)
	defer func() {
		if retErr != nil {
			ctlwire.CloseAll(fds)
		}
	}()
	for i, m := range rootMounts(&spec) {
		fd, err := detachedMount(m)
		if errors.Is(err, unix.ENOSYS) {
			return nil, fmt.Errorf("user_namespace nodes need Linux >= 5.12 (idmapped mounts): %w", err)
		}
		if err != nil {
			return nil, fmt.Errorf("root mount %d (%s): %w", i, m.Source, err)
		}
		fds = append(fds, fd)
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
		if (m.Flags|m.Remount)&unix.MS_RDONLY != 0 {
			attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
		}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			if errors.Is(err, unix.ENOSYS) {
				return nil, fmt.Errorf("user_namespace nodes need Linux >= 5.12 (idmapped mounts): %w", err)
			}
			return nil, fmt.Errorf("idmap root mount %d (%s, %s): %w", i, m.Source, orBind(m.FSType), err)
		}
	}
	return fds, nil
}

func orBind(fstype string) string {
	if fstype == "" {
		return "bind"
	}
	return fstype
}

// detachedMount makes m without attaching it anywhere: a clone of the
// source tree for binds, else a new filesystem instance.
func detachedMount(m mountspec.Mount) (int, error) {
	if m.Flags&unix.MS_BIND != 0 {
		flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
		if m.Flags&unix.MS_REC != 0 {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
		if err != nil {
			return -1, fmt.Errorf("clone %s: %w", m.Source, err)
		}
		return fd, nil
	}
	fsfd, err := unix.Fsopen(m.FSType, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", m.FSType, err)
	}
	defer unix.Close(fsfd)
	if m.Source != "" {
		if err := unix.FsconfigSetString(fsfd, "source", m.Source); err != nil {
			return -1, fmt.Errorf("%s source %s: %w", m.FSType, m.Source, err)
		}
	}
	for _, opt := range splitOptions(m.Data) {
		key, val, hasVal := strings.Cut(opt, "=")
		if hasVal {
			err = unix.FsconfigSetString(fsfd, key, val)
		} else {
			err = unix.FsconfigSetFlag(fsfd, key)
		}
		if err != nil {
			return -1, fmt.Errorf("%s option %s: %w", m.FSType, key, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("create %s: %w", m.FSType, err)
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, mountAttrs(m.Flags))
	if err != nil {
		return -1, fmt.Errorf("fsmount %s: %w", m.FSType, err)
	}
	return fd, nil
}

// splitOptions splits mount data at commas (overlay's lowerdir uses ':').
func splitOptions(data string) []string { return splitNonEmpty(data, ',') }

func mountAttrs(flags uintptr) int {
	var a int
	for _, f := range []struct {
		ms   uintptr
		attr int
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME},
	} {
		if flags&f.ms != 0 {
			a |= f.attr
		}
	}
	return a
}
