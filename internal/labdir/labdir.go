// Package labdir owns the on-disk layout of a leolab root that finding a
// running node needs: the default root, the labs directory, a node's
// directory and its control link, and the lookup of NODE or LAB/NODE among
// the running labs. It imports only errors, io/fs, os and path (not
// strings or path/filepath, which initialise late), so that exec's fast
// path (internal/quickexec) can use it before the rest of leolab has
// initialised. internal/hostnames, which owns every host-visible name,
// lists these paths with the rest (and builds the other paths of a root on
// them): the rest of leolab asks it for a path, and comes here only for
// Locate, the node lookup both exec paths share.
package labdir

import (
	"errors"
	"io/fs"
	"os"
	"path"
)

// DefaultRoot is the data and state directory when neither --root nor
// LEOLAB_ROOT is given.
const DefaultRoot = "/var/lib/leolab"

// Labs is the directory holding one directory per deployed lab.
func Labs(root string) string { return path.Join(root, "labs") }

// Lab is a lab's directory.
func Lab(root, lab string) string { return path.Join(root, "labs", lab) }

// Node is where a node's layer, console log and working files live; it
// exists from deploy until destroy.
func Node(root, lab, node string) string { return path.Join(Lab(root, lab), "nodes", node) }

// ControlLink, in the node's directory, is a symlink to the node's control
// socket: exec finds a node by name without reading the lab's state.
func ControlLink(root, lab, node string) string {
	return path.Join(Node(root, lab, node), "control")
}

// ErrNotNodeName: the target is not NODE or LAB/NODE.
var ErrNotNodeName = errors.New("not a node name (NODE or LAB/NODE)")

// Locate finds the labs holding the node target names: target is NODE or
// LAB/NODE, and lab, when set, picks the lab of a bare NODE. It returns the
// node's name and every lab that has a directory for it (none, one, or
// several when a bare name is ambiguous); err is ErrNotNodeName or a
// failure to read the labs directory.
func Locate(root, lab, target string) (node string, labs []string, err error) {
	if l, n, ok := SplitTarget(target); ok {
		lab, target = l, n
	}
	if !pathSafeName(target) || (lab != "" && !pathSafeName(lab)) {
		return "", nil, ErrNotNodeName
	}
	if lab != "" {
		if hasNodeDir(root, lab, target) {
			labs = []string{lab}
		}
		return target, labs, nil
	}
	entries, err := os.ReadDir(Labs(root))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", nil, err
	}
	for _, e := range entries {
		if e.IsDir() && hasNodeDir(root, e.Name(), target) {
			labs = append(labs, e.Name())
		}
	}
	return target, labs, nil
}

func hasNodeDir(root, lab, node string) bool {
	fi, err := os.Lstat(Node(root, lab, node))
	return err == nil && fi.IsDir()
}

// pathSafeName: a name that stays one path element when joined (node and
// lab names are validated much more strictly at deploy).
func pathSafeName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return false
		}
	}
	return true
}

// SplitTarget splits LAB/NODE at its first slash; ok is false for a bare
// NODE.
func SplitTarget(target string) (lab, node string, ok bool) {
	for i := 0; i < len(target); i++ {
		if target[i] == '/' {
			return target[:i], target[i+1:], true
		}
	}
	return "", target, false
}
