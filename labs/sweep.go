package labs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/vishvananda/netlink"

	"leolab/internal/hostnames"
	"leolab/internal/nldump"
	"leolab/node"
)

// stopInits stops every init of lab still running, or only node's when
// node is not "".
func stopInits(lab, nodeName string) error {
	var errs *multierror.Error
	for _, p := range node.FindInits() {
		if p.Lab != lab || (nodeName != "" && p.Node != nodeName) {
			continue
		}
		st, err := node.StartTimeOf(p.PID)
		if err != nil {
			continue // already gone
		}
		errs = multierror.Append(errs, node.Stop(p.PID, st, stopGrace))
	}
	return errs.ErrorOrNil()
}

// sweepCgroups removes any node cgroups of lab left under any hierarchy.
func sweepCgroups(lab string) error {
	var errs *multierror.Error
	for _, h := range hostnames.CgroupHierarchies() {
		dir := hostnames.CgroupLab(h, lab)
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
	for _, p := range node.FindInits() {
		found[p.Lab] = true
	}
	links, err := nldump.Retry(netlink.LinkList)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if lab, ok := hostnames.LabOfAlias(l.Attrs().Alias); ok {
			found[lab] = true
		}
	}
	if entries, err := os.ReadDir(hostnames.NetnsDir); err == nil {
		for _, e := range entries {
			if lab, ok := hostnames.LabOfNetns(e.Name()); ok {
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
	for _, p := range node.FindInits() {
		if p.Lab != lab {
			continue
		}
		log, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.PID), "fd", "1"))
		if err == nil && strings.HasSuffix(log, "/"+node.ConsoleLog) && !strings.HasPrefix(log, labDir+"/") {
			return log
		}
	}
	return ""
}
