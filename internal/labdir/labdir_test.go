package labdir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLocate(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/nodes/n1", "b/nodes/n1", "b/nodes/n2", "c/nodes"} {
		if err := os.MkdirAll(filepath.Join(Labs(root), d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink is not a node directory.
	if err := os.Symlink(Node(root, "b", "n2"), Node(root, "c", "n2")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lab, target, node string
		labs              []string
	}{
		{"", "n2", "n2", []string{"b"}},
		{"", "n1", "n1", []string{"a", "b"}},
		{"", "a/n1", "n1", []string{"a"}},
		{"b", "n1", "n1", []string{"b"}},
		{"x", "b/n1", "n1", []string{"b"}}, // LAB/NODE wins over --lab
		{"", "n3", "n3", nil},
		{"a", "n2", "n2", nil},
	} {
		node, labs, err := Locate(root, c.lab, c.target)
		if err != nil || node != c.node || !slices.Equal(labs, c.labs) {
			t.Errorf("Locate(%q, %q) = %q, %v, %v; want %q, %v", c.lab, c.target, node, labs, err, c.node, c.labs)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/", "a/b/c", "n\x001"} {
		if _, _, err := Locate(root, "", bad); !errors.Is(err, ErrNotNodeName) {
			t.Errorf("Locate(%q): %v, want ErrNotNodeName", bad, err)
		}
	}
	if _, _, err := Locate(root, "..", "n1"); !errors.Is(err, ErrNotNodeName) {
		t.Errorf("lab ..: %v, want ErrNotNodeName", err)
	}
	// No labs directory yet: nothing found, no error.
	if _, labs, err := Locate(t.TempDir(), "", "n1"); err != nil || labs != nil {
		t.Errorf("empty root: %v, %v", labs, err)
	}
	if got, want := ControlLink("/r", "l", "n"), "/r/labs/l/nodes/n/control"; got != want {
		t.Errorf("ControlLink = %q, want %q", got, want)
	}
}
