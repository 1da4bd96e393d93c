package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/nodespec"
)

const cgroupRoot = "/sys/fs/cgroup"

// v1Controllers are the cgroup v1 hierarchies a node gets a cgroup in.
var v1Controllers = []string{"memory", "pids", "cpu"}

// cgroupLayout says where node cgroups live on this host.
type cgroupLayout struct {
	v2 string   // cgroup2 mount with memory, pids and cpu available; "" for v1
	v1 []string // v1 controller mounts (used when v2 is "")
}

func detectCgroups() cgroupLayout {
	for _, dir := range []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")} {
		if isCgroup2(dir) && hasControllers(dir, "memory", "pids", "cpu") {
			return cgroupLayout{v2: dir}
		}
	}
	var l cgroupLayout
	for _, c := range v1Controllers {
		dir := filepath.Join(cgroupRoot, c)
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
			l.v1 = append(l.v1, dir)
		}
	}
	return l
}

func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

func hasControllers(dir string, want ...string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	have := strings.Fields(string(b))
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// createCgroups makes leolab/LAB/NODE in every hierarchy and applies the
// limits. It returns the node cgroup dirs created.
func createCgroups(lab, name string, lim nodespec.Limits) (dirs []string, retErr error) {
	l := detectCgroups()
	defer func() {
		if retErr != nil {
			RemoveCgroups(lab, name)
		}
	}()
	if l.v2 != "" {
		dir, err := createV2(l.v2, lab, name, lim)
		if err != nil {
			return nil, err
		}
		return []string{dir}, nil
	}
	for _, root := range l.v1 {
		dir := filepath.Join(root, "leolab", lab, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		dirs = append(dirs, dir)
		if err := applyV1(filepath.Base(root), dir, lim); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}

func createV2(root, lab, name string, lim nodespec.Limits) (string, error) {
	dir := root
	// Each level must delegate the controllers to the level below it.
	for _, part := range []string{"leolab", lab, name} {
		if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+memory +pids +cpu"); err != nil {
			return "", err
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("create cgroup %s: %w", dir, err)
		}
	}
	if lim.MemoryBytes > 0 {
		if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(lim.MemoryBytes, 10)); err != nil {
			return "", err
		}
	}
	if lim.Pids > 0 {
		if err := writeFile(filepath.Join(dir, "pids.max"), strconv.FormatInt(lim.Pids, 10)); err != nil {
			return "", err
		}
	}
	if lim.CPUs > 0 {
		quota := fmt.Sprintf("%d 100000", int64(lim.CPUs*100000))
		if err := writeFile(filepath.Join(dir, "cpu.max"), quota); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func applyV1(ctrl, dir string, lim nodespec.Limits) error {
	switch {
	case ctrl == "memory" && lim.MemoryBytes > 0:
		return writeFile(filepath.Join(dir, "memory.limit_in_bytes"), strconv.FormatInt(lim.MemoryBytes, 10))
	case ctrl == "pids" && lim.Pids > 0:
		return writeFile(filepath.Join(dir, "pids.max"), strconv.FormatInt(lim.Pids, 10))
	case ctrl == "cpu" && lim.CPUs > 0:
		if err := writeFile(filepath.Join(dir, "cpu.cfs_period_us"), "100000"); err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(int64(lim.CPUs*100000), 10))
	}
	return nil
}

// joinCgroups moves pid (all its threads) into every node cgroup.
func joinCgroups(dirs []string, pid int) error {
	for _, dir := range dirs {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// RemoveCgroups removes the node's cgroups in every hierarchy, then the
// lab's and leolab's parents when they are empty. Idempotent: a cgroup that
// is not there is success. Call it after the node's processes are gone.
func RemoveCgroups(lab, name string) error {
	var errs []error
	for _, root := range cgroupRoots() {
		node := filepath.Join(root, "leolab", lab, name)
		if err := rmdirCgroup(node); err != nil {
			errs = append(errs, err)
			continue
		}
		// Parents are shared with other nodes and labs: busy is fine.
		unix.Rmdir(filepath.Dir(node))
		unix.Rmdir(filepath.Join(root, "leolab"))
	}
	return errors.Join(errs...)
}

// cgroupRoots lists every hierarchy a node cgroup may have been made in.
func cgroupRoots() []string {
	roots := []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")}
	for _, c := range v1Controllers {
		roots = append(roots, filepath.Join(cgroupRoot, c))
	}
	return roots
}

// rmdirCgroup removes one cgroup dir, retrying while the kernel still
// counts exiting tasks in it.
func rmdirCgroup(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
