package labs

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/vishvananda/netlink"

	"leolab/internal/nldump"
	"leolab/node"
	"leolab/topology"
)

// initArgv0 is the reserved argv[0] of a node's init; its argv[1] is the lab
// and argv[2] the node, which is how destroy finds inits no state mentions.
const initArgv0 = "leolab-init"

// initProc is one node init found in /proc.
type initProc struct {
	pid       int
	lab, node string
}

// findInits lists every leolab init on the host.
func findInits() []initProc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []initProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.HasPrefix(cmdline, []byte(initArgv0+"\x00")) {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) >= 3 {
			out = append(out, initProc{pid: pid, lab: args[1], node: args[2]})
		}
	}
	return out
}

// stopInitsOf stops every init of lab still running.
func stopInitsOf(lab string) error {
	var errs *multierror.Error
	for _, p := range findInits() {
		if p.lab != lab {
			continue
		}
		st, err := node.StartTimeOf(p.pid)
		if err != nil {
			continue // already gone
		}
		errs = multierror.Append(errs, node.Stop(p.pid, st, stopGrace))
	}
	return errs.ErrorOrNil()
}

// cgroupBases are the places a lab's cgroups may live: the v2 root or
// unified hierarchy and every v1 controller.
func cgroupBases() []string {
	bases, _ := filepath.Glob("/sys/fs/cgroup/*/leolab")
	if _, err := os.Stat("/sys/fs/cgroup/leolab"); err == nil {
		bases = append(bases, "/sys/fs/cgroup/leolab")
	}
	return bases
}

// sweepCgroups removes any node cgroups of lab left under any hierarchy.
func sweepCgroups(lab string) error {
	var errs *multierror.Error
	for _, base := range cgroupBases() {
		dir := filepath.Join(base, lab)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				errs = multierror.Append(errs, node.RemoveCgroups(lab, e.Name()))
			}
		}
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

// orphanLabNames finds labs that left traces (inits, link aliases, lab
// namespaces) but have no directory under the root.
func orphanLabNames(known map[string]bool) ([]string, error) {
	found := map[string]bool{}
	for _, p := range findInits() {
		found[p.lab] = true
	}
	links, err := nldump.Retry(netlink.LinkList)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if lab, ok := labOfAlias(l.Attrs().Alias); ok {
			found[lab] = true
		}
	}
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if lab, ok := strings.CutPrefix(e.Name(), topology.LabNetnsName("")); ok {
				found[lab] = true
			}
		}
	}
	var out []string
	for lab := range found {
		if !known[lab] {
			out = append(out, lab)
		}
	}
	sort.Strings(out)
	return out, nil
}

// otherRootOf returns the console log of a live init of lab that writes
// under another leolab root than labDir's, or "". A node init's stdout is
// ROOT/labs/LAB/nodes/NODE/console.log, so a lab deployed with another
// --root on the same host is told apart from a true orphan of this one.
func otherRootOf(lab, labDir string) string {
	for _, p := range findInits() {
		if p.lab != lab {
			continue
		}
		log, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.pid), "fd", "1"))
		if err == nil && strings.HasSuffix(log, "/console.log") && !strings.HasPrefix(log, labDir+"/") {
			return log
		}
	}
	return ""
}

func labOfAlias(alias string) (string, bool) {
	rest, ok := strings.CutPrefix(alias, "leolab:")
	if !ok {
		return "", false
	}
	lab, _, ok := strings.Cut(rest, ":")
	return lab, ok && lab != "" && topology.AliasPrefix(lab) == "leolab:"+lab+":"
}
