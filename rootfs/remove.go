package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"
)

// RemoveNodeLayer removes what NodeMounts created under nodeDir (upper, work,
// rootfs). It never descends into or deletes a mount point: an entry on
// another mount (a bind-mounted host directory, say) is left alone and
// reported. Missing parts are not an error, so it can run twice.
func RemoveNodeLayer(nodeDir string) error {
	var errs *multierror.Error
	for _, name := range []string{"upper", "work", treeName} {
		errs = multierror.Append(errs, removeTree(filepath.Join(nodeDir, name)))
	}
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("remove node layer %s: %w", nodeDir, err)
	}
	return nil
}

// mountOf identifies the mount an inode lives on: the mount id where the
// kernel reports it (≥ 5.8; it tells bind mounts of the same filesystem
// apart), else the device number.
type mountOf struct {
	id         uint64
	major, min uint32
}

func statMount(dirfd int, name string, flags int) (unix.Statx_t, mountOf, error) {
	var stx unix.Statx_t
	err := unix.Statx(dirfd, name, flags|unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE|unix.STATX_MNT_ID, &stx)
	if err != nil {
		return stx, mountOf{}, err
	}
	m := mountOf{major: stx.Dev_major, min: stx.Dev_minor}
	if stx.Mask&unix.STATX_MNT_ID != 0 {
		m.id = stx.Mnt_id
	}
	return stx, m, nil
}

// removeTree deletes path and everything below it that is on the same mount
// as path's parent directory. The path's parent is trusted; below it nothing
// is followed (no symlinks, no mount crossings).
func removeTree(path string) error {
	parent, base := filepath.Split(filepath.Clean(path))
	if base == "" || base == "." || base == ".." {
		return fmt.Errorf("remove %s: bad path", path)
	}
	pfd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	defer unix.Close(pfd)
	_, mnt, err := statMount(pfd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return removeAt(pfd, mnt, base, path)
}

func removeAt(dirfd int, mnt mountOf, name, display string) error {
	stx, m, err := statMount(dirfd, name, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", display, err)
	}
	if m != mnt {
		return fmt.Errorf("refusing to remove %s: it is a mount point", display)
	}
	if stx.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s: %w", display, err)
		}
		return nil
	}
	if err := removeChildren(dirfd, mnt, name, display); err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", display, err)
	}
	return nil
}

func removeChildren(dirfd int, mnt mountOf, name, display string) error {
	f, err := openDir(dirfd, name, display, unix.O_NOFOLLOW)
	if f == nil {
		return err
	}
	defer f.Close()
	// Re-check on the open fd: something mounted between stat and open is refused.
	if _, m, err := statMount(int(f.Fd()), "", unix.AT_EMPTY_PATH); err != nil || m != mnt {
		return fmt.Errorf("refusing to remove %s: it is a mount point", display)
	}
	return removeEntries(f, mnt, display, nil)
}

// removeEntries removes every entry of the open directory dir but those
// named in keep, none of them crossing out of mnt.
func removeEntries(dir *os.File, mnt mountOf, display string, keep map[string]bool) error {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", display, err)
	}
	var errs *multierror.Error
	for _, n := range names {
		if !keep[n] {
			errs = multierror.Append(errs, removeAt(int(dir.Fd()), mnt, n, display+"/"+n))
		}
	}
	return errs.ErrorOrNil()
}

// RemoveContents removes everything inside dir but the entries whose names
// are in keep, on RemoveNodeLayer's terms: dir itself is trusted; below it
// nothing on another mount than dir's is entered or deleted and no symlink
// is followed. A missing dir is not an error.
func RemoveContents(dir string, keep ...string) error {
	f, err := openDir(unix.AT_FDCWD, dir, dir, 0)
	if f == nil {
		return err
	}
	defer f.Close()
	_, mnt, err := statMount(int(f.Fd()), "", unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	skip := make(map[string]bool, len(keep))
	for _, k := range keep {
		skip[k] = true
	}
	return removeEntries(f, mnt, dir, skip)
}

// openDir opens directory name (relative to dirfd) with extra open flags;
// a missing one gives nil and no error.
func openDir(dirfd int, name, display string, flags int) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|flags, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", display, err)
	}
	return os.NewFile(uintptr(fd), display), nil
}
