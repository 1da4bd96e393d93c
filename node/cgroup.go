package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/internal/spec/nodespec"
)

// cgroupLayout says where node cgroups live on this host.
type cgroupLayout struct {
	v2 string   // cgroup2 mount with memory, pids and cpu available; "" for v1
	v1 []string // v1 controller mounts (used when v2 is "")
}

func detectCgroups() cgroupLayout {
	for _, dir := range hostnames.CgroupV2Hierarchies() {
		if isCgroup2(dir) && hasControllers(dir, "memory", "pids", "cpu") {
			return cgroupLayout{v2: dir}
		}
	}
	var l cgroupLayout
	for _, dir := range hostnames.CgroupV1Hierarchies() {
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

// procsCgroup is the child cgroup (v1 pids and memory hierarchies) holding
// a node's processes when the node has a pids or memory limit. Init itself
// stays in the node's cgroup above it: the Go runtime aborts when it
// cannot create a thread, and the OOM killer of a memory cgroup picks among
// its processes, so init must never count against a limit the node's own
// processes can fill.
const procsCgroup = "procs"

// nodeCgroups are the cgroups made for one node.
type nodeCgroups struct {
	dirs []string // leolab/LAB/NODE in every hierarchy; init joins them all
	// spawnTasks are the v1 "tasks" files of the limited procs cgroups,
	// where init's spawning thread goes (its children are born there).
	spawnTasks []string
}

// createCgroups makes leolab/LAB/NODE in every hierarchy and applies the
// limits.
func createCgroups(lab, name string, lim nodespec.Limits) (cg nodeCgroups, retErr error) {
	l := detectCgroups()
	defer func() {
		if retErr != nil {
			RemoveCgroups(lab, name)
		}
	}()
	if l.v2 != "" {
		dir, err := createV2(l.v2, lab, name, lim)
		if err != nil {
			return cg, err
		}
		return nodeCgroups{dirs: []string{dir}}, nil
	}
	for _, root := range l.v1 {
		dir := hostnames.CgroupNode(root, lab, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return cg, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		cg.dirs = append(cg.dirs, dir)
		ctrl := filepath.Base(root)
		if (ctrl == "pids" && lim.Pids > 0) || (ctrl == "memory" && lim.MemoryBytes > 0) {
			tasks, err := createProcsV1(ctrl, dir, lim)
			if err != nil {
				return cg, err
			}
			cg.spawnTasks = append(cg.spawnTasks, tasks)
			continue
		}
		if err := applyV1(ctrl, dir, lim); err != nil {
			return cg, err
		}
	}
	return cg, nil
}

// createProcsV1 makes the limited procs cgroup under a node's v1 pids or
// memory cgroup and returns its tasks file. The pids limit is one higher
// than asked: init's spawning thread lives there too, and the node's
// processes get exactly the number the topology gives. The memory limit
// also bounds swap (memory.memsw, where swap is accounted): the node's
// memory is what it asked for, on any host, and a node past it meets the
// OOM killer rather than pushing the host into swap.
func createProcsV1(ctrl, nodeDir string, lim nodespec.Limits) (string, error) {
	dir := filepath.Join(nodeDir, procsCgroup)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	if ctrl == "pids" {
		if err := writeFile(filepath.Join(dir, "pids.max"), strconv.FormatInt(lim.Pids+1, 10)); err != nil {
			return "", err
		}
		return filepath.Join(dir, "tasks"), nil
	}
	limit := strconv.FormatInt(lim.MemoryBytes, 10)
	if err := writeFile(filepath.Join(dir, "memory.limit_in_bytes"), limit); err != nil {
		return "", err
	}
	// memsw must not be below the memory limit, so it is written second.
	memsw := filepath.Join(dir, "memory.memsw.limit_in_bytes")
	if _, err := os.Stat(memsw); err == nil {
		if err := writeFile(memsw, limit); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "tasks"), nil
}

func createV2(root, lab, name string, lim nodespec.Limits) (string, error) {
	dir := root
	// Each level must delegate the controllers to the level below it.
	for _, level := range []string{hostnames.CgroupBase(root), hostnames.CgroupLab(root, lab), hostnames.CgroupNode(root, lab, name)} {
		if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+memory +pids +cpu"); err != nil {
			return "", err
		}
		dir = level
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
	// pids and memory: the limit is on the procs child cgroup, never on
	// init's own (createProcsV1).
	if ctrl == "cpu" && lim.CPUs > 0 {
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
	var errs *multierror.Error
	for _, root := range hostnames.CgroupHierarchies() {
		node := hostnames.CgroupNode(root, lab, name)
		if err := rmdirCgroup(filepath.Join(node, procsCgroup)); err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		if err := rmdirCgroup(node); err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		// Parents are shared with other nodes and labs: busy is fine.
		unix.Rmdir(hostnames.CgroupLab(root, lab))
		unix.Rmdir(hostnames.CgroupBase(root))
	}
	return errs.ErrorOrNil()
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
