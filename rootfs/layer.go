package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/mountspec"
)

// Node layer layout under nodeDir (names reserved by this package):
//
//	upper/, work/   overlay upper and work dirs
//	rootfs/         a full copy of the image, or the `host` skeleton
const maxMountData = 4096 - 1 // mount(2) options are one page, NUL included

// NodeMounts creates the node's private layer under nodeDir (creating
// nodeDir) and returns the mounts that build the node's root at the
// runtime's new-root directory, in order. Any layer left by an earlier
// deploy is removed first, so a node always starts from the clean image.
// copy (or an overlay-less kernel) gives a full copy instead of an overlay;
// `host` images add read-only binds of the host's /usr and /lib* dirs.
func (s *Store) NodeMounts(img Image, nodeDir string, copy bool) ([]mountspec.Mount, error) {
	nodeDir, err := filepath.Abs(nodeDir) // overlay options need absolute paths
	if err != nil {
		return nil, err
	}
	if img.Dir == "" {
		return nil, fmt.Errorf("image %s has no tree", img.Source)
	}
	if img.Dir, err = filepath.Abs(img.Dir); err != nil || img.Dir == "/" {
		return nil, fmt.Errorf("image %s has no usable tree", img.Source)
	}
	if err := os.MkdirAll(nodeDir, 0o700); err != nil {
		return nil, fmt.Errorf("create node dir: %w", err)
	}
	if err := RemoveNodeLayer(nodeDir); err != nil {
		return nil, err
	}
	var mounts []mountspec.Mount
	if !copy && s.overlayOK() {
		mounts, err = overlayMounts(img.Dir, nodeDir)
	}
	if copy || !s.overlayOK() || errors.Is(err, errOverlayUnfit) {
		// A path overlay options cannot carry gets a copy, like no overlay.
		mounts, err = copyMounts(img.Dir, nodeDir)
	}
	if err != nil {
		return nil, err
	}
	if img.Kind == KindHost {
		// After the root: the binds land on the skeleton's empty mount points.
		mounts = append(mounts, hostBindMounts(img.Dir)...)
	}
	return mounts, nil
}

// errOverlayUnfit is an overlay whose options cannot name its paths.
var errOverlayUnfit = errors.New("overlay cannot express this layer")

func overlayMounts(lower, nodeDir string) ([]mountspec.Mount, error) {
	upper, work := filepath.Join(nodeDir, "upper"), filepath.Join(nodeDir, "work")
	for _, p := range []string{lower, upper, work} {
		if strings.ContainsAny(p, ",:\\") {
			return nil, fmt.Errorf("%w: path %q contains ',', ':' or '\\'", errOverlayUnfit, p)
		}
	}
	data := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if len(data) > maxMountData {
		return nil, fmt.Errorf("%w: options for %s are %d bytes, over the %d-byte limit", errOverlayUnfit, nodeDir, len(data), maxMountData)
	}
	var st unix.Stat_t
	if err := unix.Stat(lower, &st); err != nil {
		return nil, fmt.Errorf("stat image %s: %w", lower, err)
	}
	// The merged root shows the upper dir's own owner and mode: match the image's.
	if err := os.Mkdir(upper, 0o700); err != nil {
		return nil, fmt.Errorf("create overlay upper: %w", err)
	}
	if err := unix.Chown(upper, int(st.Uid), int(st.Gid)); err != nil {
		return nil, fmt.Errorf("create overlay upper: %w", err)
	}
	if err := unix.Chmod(upper, st.Mode&0o7777); err != nil {
		return nil, fmt.Errorf("create overlay upper: %w", err)
	}
	if err := os.Mkdir(work, 0o700); err != nil {
		return nil, fmt.Errorf("create overlay work: %w", err)
	}
	// nodev: a node keeps CAP_MKNOD (Docker's default set), so a device
	// node it creates in its root must not open the host's devices.
	return []mountspec.Mount{{Source: "overlay", FSType: "overlay", Flags: unix.MS_NODEV, Data: data}}, nil
}

func copyMounts(src, nodeDir string) ([]mountspec.Mount, error) {
	dst := filepath.Join(nodeDir, treeName)
	if err := copyTree(src, dst); err != nil {
		_ = removeTree(dst)
		return nil, fmt.Errorf("copy image %s: %w", src, err)
	}
	// A bind takes its flags from a remount; nodev as for the overlay.
	return []mountspec.Mount{{Source: dst, Flags: unix.MS_BIND, Remount: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NODEV}}, nil
}

type overlayProbe struct {
	once sync.Once
	err  error
}

var probes sync.Map // Store.Root → *overlayProbe

// overlayOK reports (once per root and process) whether an overlay with its
// layers on root's filesystem can be mounted.
func (s *Store) overlayOK() bool {
	v, _ := probes.LoadOrStore(s.Root, &overlayProbe{})
	p := v.(*overlayProbe)
	p.once.Do(func() { p.err = s.probeOverlay() })
	return p.err == nil
}

// probeOverlay creates a tiny overlay as a detached mount (fsopen/fsmount):
// it is never attached to any mount namespace and vanishes when its fd is
// closed, so a crash mid-probe cannot leave a mount behind. Kernels without
// the new mount API fall back to /proc/filesystems.
func (s *Store) probeOverlay() error {
	if err := s.ensureDirs(); err != nil {
		return err
	}
	t, err := s.newTemp(true) // a crash leaves only a .tmp-* dir, swept later
	if err != nil {
		return err
	}
	defer t.release()
	dir := t.path
	for _, d := range []string{"lower", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENOSYS) {
		return overlayListed()
	}
	if err != nil {
		return fmt.Errorf("open overlay filesystem: %w", err)
	}
	defer unix.Close(fsfd)
	for k, v := range map[string]string{"lowerdir": dir + "/lower", "upperdir": dir + "/upper", "workdir": dir + "/work"} {
		if err := unix.FsconfigSetString(fsfd, k, v); err != nil {
			return fmt.Errorf("overlay option %s: %w", k, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	return unix.Close(mfd)
}

func overlayListed() error {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == "overlay" {
			return nil
		}
	}
	return errors.New("overlay filesystem not available")
}
