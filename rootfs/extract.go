package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// errEscape marks an entry that would land outside the image.
var errEscape = errors.New("leads out of the image")

const maxSymlinkHops = 40

// maxNameLen is PATH_MAX: no longer entry name or link target can be used
// in the node anyway, and one would otherwise let a single entry create
// thousands of nested directories.
const maxNameLen = 4096

// extractor writes tar streams into one image tree. Every file operation
// goes through os.Root (which refuses to leave the tree); on top of that,
// parent directories are resolved here component by component with chroot
// semantics, so an absolute symlink in the image resolves inside the image
// and a relative one climbing above it is an error.
type extractor struct {
	ctx        context.Context
	root       *os.Root
	maxBytes   int64
	maxEntries int
	bytes      int64
	entries    int
	skipped    int
	layers     bool                 // apply OCI whiteouts
	seen       map[string]struct{}  // paths written by the current layer
	dirs       map[string]string    // parent dir as named → resolved, symlink-free
	dirTimes   map[string]time.Time // directory mtimes, set last
	progress   func(bytes int64, entries int)
	nextReport int64
}

func (s *Store) newExtractor(ctx context.Context, dir string, layers bool) (*extractor, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create image dir: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open image dir: %w", err)
	}
	return &extractor{
		ctx: ctx, root: r, maxBytes: s.maxBytes(), maxEntries: s.maxEntries(),
		layers: layers, dirs: map[string]string{}, dirTimes: map[string]time.Time{},
	}, nil
}

// close applies the deferred directory mtimes and releases the root.
func (x *extractor) close() error {
	defer x.root.Close()
	for p, t := range x.dirTimes {
		if fi, err := x.root.Lstat(p); err == nil && fi.IsDir() {
			if err := x.root.Chtimes(p, t, t); err != nil {
				return fmt.Errorf("set times of %s: %w", p, err)
			}
		}
	}
	return nil
}

// apply extracts one tar stream (one layer, in layer mode).
func (x *extractor) apply(tr *tar.Reader) error {
	x.seen = map[string]struct{}{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if err := x.ctx.Err(); err != nil {
			return err
		}
		x.entries++
		if x.entries > x.maxEntries {
			return fmt.Errorf("archive has more than %d entries (the limit)", x.maxEntries)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if x.progress != nil && x.bytes >= x.nextReport {
			x.progress(x.bytes, x.entries)
			x.nextReport = x.bytes + 64<<20
		}
	}
}

// cleanName makes an entry name relative to the image root, as GNU tar does
// with absolute names; any ".." component is refused.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("name contains a NUL byte")
	}
	if len(name) > maxNameLen {
		return "", fmt.Errorf("name is %d bytes, longer than PATH_MAX (%d)", len(name), maxNameLen)
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return "", fmt.Errorf("name contains '..': %w", errEscape)
		default:
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ".", nil
	}
	return strings.Join(parts, "/"), nil
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return x.setDirAttrs(".", hdr)
		}
		return nil
	}
	dir, base := path.Split(name)
	if x.layers && strings.HasPrefix(base, ".wh.") {
		return x.whiteout(dir, base)
	}
	parent, err := x.resolveDir(dir)
	if err != nil {
		return err
	}
	target := path.Join(parent, base)
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = x.mkdir(target, hdr)
	case tar.TypeReg, '\x00', tar.TypeGNUSparse, tar.TypeCont:
		err = x.writeFile(target, hdr, r)
	case tar.TypeSymlink:
		err = x.symlink(target, hdr)
	case tar.TypeLink:
		err = x.hardlink(target, hdr)
	case tar.TypeFifo:
		err = x.fifo(parent, base, hdr)
	default: // device nodes, sockets, vendor types: never created
		x.skipped++
		return nil
	}
	if err == nil {
		x.markSeen(target)
	}
	return err
}

// markSeen records target and its ancestors as written by this layer.
func (x *extractor) markSeen(p string) {
	for p != "." {
		if _, ok := x.seen[p]; ok {
			return
		}
		x.seen[p] = struct{}{}
		p = path.Dir(p)
	}
}

// resolveDir resolves a parent directory, creating missing components.
func (x *extractor) resolveDir(dir string) (string, error) {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return ".", nil
	}
	if r, ok := x.dirs[dir]; ok {
		return r, nil
	}
	r, err := x.walk(dir, true)
	if err != nil {
		return "", err
	}
	x.dirs[dir] = r
	return r, nil
}

// walk resolves dir to a symlink-free directory path inside the image,
// following symlinks with the image as "/". With create, missing components
// are made (0755, root-owned, as tar does for implied directories).
func (x *extractor) walk(dir string, create bool) (string, error) {
	todo := strings.Split(dir, "/")
	var cur []string
	hops, via := 0, ""
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 && via != "" {
				return "", fmt.Errorf("%s: symlink %s %w", dir, via, errEscape)
			}
			if len(cur) == 0 {
				return "", fmt.Errorf("%s: %w", dir, errEscape)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := path.Join(append(cur, c)...)
		fi, err := x.root.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist) && create:
			// Implied directories count as entries: the limit bounds inodes made.
			if x.entries++; x.entries > x.maxEntries {
				return "", fmt.Errorf("archive makes more than %d entries (the limit)", x.maxEntries)
			}
			if err := x.root.Mkdir(next, 0o755); err != nil {
				return "", fmt.Errorf("create directory %s: %w", next, err)
			}
		case err != nil:
			return "", fmt.Errorf("resolve %s: %w", next, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			if hops++; hops > maxSymlinkHops {
				return "", fmt.Errorf("resolve %s: too many symlinks", dir)
			}
			link, err := x.root.Readlink(next)
			if err != nil {
				return "", fmt.Errorf("resolve %s: %w", next, err)
			}
			via = next
			if strings.HasPrefix(link, "/") {
				cur = nil // absolute links resolve inside the image, as at run time
			}
			todo = append(strings.Split(link, "/"), todo...)
			continue
		case !fi.IsDir():
			return "", fmt.Errorf("resolve %s: %s is not a directory", dir, next)
		}
		cur = append(cur, c)
	}
	if len(cur) == 0 {
		return ".", nil
	}
	return path.Join(cur...), nil
}

// clear removes whatever is at target (unless keepDir and it is a
// directory) so the new entry replaces it instead of writing through it.
func (x *extractor) clear(target string, keepDir bool) (existingDir bool, err error) {
	fi, err := x.root.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.IsDir() && keepDir {
		return true, nil
	}
	if fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0 {
		clear(x.dirs) // cached resolutions may run through it
	}
	if err := x.root.RemoveAll(target); err != nil {
		return false, fmt.Errorf("replace %s: %w", target, err)
	}
	return false, nil
}

func (x *extractor) mkdir(target string, hdr *tar.Header) error {
	exists, err := x.clear(target, true)
	if err != nil {
		return err
	}
	if !exists {
		if err := x.root.Mkdir(target, 0o700); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	return x.setDirAttrs(target, hdr)
}

func (x *extractor) setDirAttrs(target string, hdr *tar.Header) error {
	f, err := x.root.OpenFile(target, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer f.Close()
	if err := setAttrs(int(f.Fd()), hdr); err != nil {
		return err
	}
	x.dirTimes[target] = hdr.ModTime
	return nil
}

// setAttrs applies owner, then mode (chown clears setuid bits), then xattrs
// (chown also clears security.capability).
func setAttrs(fd int, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || isOverlayXattr(name) {
			continue
		}
		err := unix.Fsetxattr(fd, name, []byte(v), 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

func (x *extractor) writeFile(target string, hdr *tar.Header, r io.Reader) error {
	if hdr.Size < 0 {
		return errors.New("negative size")
	}
	if x.bytes += hdr.Size; x.bytes > x.maxBytes {
		return fmt.Errorf("image larger than %d bytes (the limit)", x.maxBytes)
	}
	if _, err := x.clear(target, false); err != nil {
		return err
	}
	// O_EXCL: never open something already there (a symlink would be followed).
	f, err := x.root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, r, hdr.Size); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("write file: %w", err)
	}
	if err := setAttrs(int(f.Fd()), hdr); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	return x.root.Chtimes(target, hdr.AccessTime, hdr.ModTime)
}

func (x *extractor) symlink(target string, hdr *tar.Header) error {
	if len(hdr.Linkname) > maxNameLen {
		return fmt.Errorf("symlink target is %d bytes, longer than PATH_MAX (%d)", len(hdr.Linkname), maxNameLen)
	}
	if _, err := x.clear(target, false); err != nil {
		return err
	}
	// The link text is stored as is; it is only ever resolved inside the image.
	if err := x.root.Symlink(hdr.Linkname, target); err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	if err := x.root.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown symlink: %w", err)
	}
	return x.lutimes(target, hdr.ModTime)
}

// lutimes sets a symlink's own mtime through its (symlink-free) parent dir.
func (x *extractor) lutimes(target string, t time.Time) error {
	d, err := x.root.Open(path.Dir(target))
	if err != nil {
		return err
	}
	defer d.Close()
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	if err := unix.UtimesNanoAt(int(d.Fd()), path.Base(target), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// hardlink links target to an existing regular file of the image, named
// without any symlink on the way.
func (x *extractor) hardlink(target string, hdr *tar.Header) error {
	old, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	if old == "." {
		return fmt.Errorf("hardlink to the image root")
	}
	if r, err := x.walk(path.Dir(old), false); err != nil || r != path.Dir(old) {
		return fmt.Errorf("hardlink target %q goes through a symlink or a missing directory", hdr.Linkname)
	}
	fi, err := x.root.Lstat(old)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeNamedPipe == 0 {
		return fmt.Errorf("hardlink target %q is not a regular file", hdr.Linkname)
	}
	if old == target {
		return nil
	}
	if _, err := x.clear(target, false); err != nil {
		return err
	}
	if err := x.root.Link(old, target); err != nil {
		return fmt.Errorf("create hardlink: %w", err)
	}
	return nil
}

func (x *extractor) fifo(parent, base string, hdr *tar.Header) error {
	target := path.Join(parent, base)
	if _, err := x.clear(target, false); err != nil {
		return err
	}
	d, err := x.root.Open(parent)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Mkfifoat(int(d.Fd()), base, 0o600); err != nil {
		return fmt.Errorf("create fifo: %w", err)
	}
	if err := unix.Fchownat(int(d.Fd()), base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown fifo: %w", err)
	}
	if err := unix.Fchmodat(int(d.Fd()), base, uint32(hdr.Mode&0o7777), 0); err != nil {
		return fmt.Errorf("chmod fifo: %w", err)
	}
	return nil
}

// whiteout applies an OCI whiteout: ".wh.NAME" deletes NAME from lower
// layers; ".wh..wh..opq" hides everything lower layers put in the directory.
func (x *extractor) whiteout(dir, base string) error {
	parent, err := x.walk(strings.TrimSuffix(dir, "/"), false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // nothing below to hide
	}
	if err != nil {
		return err
	}
	if base == ".wh..wh..opq" {
		clear(x.dirs)
		return x.opaque(parent)
	}
	if strings.HasPrefix(base, ".wh..wh.") {
		return nil // other aufs metadata
	}
	name := strings.TrimPrefix(base, ".wh.")
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("bad whiteout name %q", base)
	}
	target := path.Join(parent, name)
	if _, ok := x.seen[target]; ok {
		return nil // this layer's own entry; whiteouts only hide lower layers
	}
	clear(x.dirs)
	if err := x.root.RemoveAll(target); err != nil {
		return fmt.Errorf("whiteout %s: %w", target, err)
	}
	return nil
}

// opaque removes from dir everything this layer did not write.
func (x *extractor) opaque(dir string) error {
	d, err := x.root.Open(dir)
	if err != nil {
		return fmt.Errorf("opaque %s: %w", dir, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("opaque %s: %w", dir, err)
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if _, ok := x.seen[p]; !ok {
			if err := x.root.RemoveAll(p); err != nil {
				return fmt.Errorf("opaque %s: %w", p, err)
			}
			continue
		}
		if fi, err := x.root.Lstat(p); err == nil && fi.IsDir() {
			if err := x.opaque(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// isOverlayXattr: overlayfs metadata (opaque, redirect, origin…) in an image
// would steer the overlay that later uses the image as its lower layer.
func isOverlayXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.")
}
