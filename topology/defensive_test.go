package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileTooLarge(t *testing.T) {
	big := "name: t\n# " + strings.Repeat("x", MaxFileSize) + "\n"
	got := errorsOf(t, big, Options{})
	want := fmt.Sprintf("testdata/t.yaml: file is %d bytes; the limit is %d (1 MiB)", len(big), MaxFileSize)
	if len(got) != 1 || got[0] != want {
		t.Errorf("Parse: %q, want %q", got, want)
	}

	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, Options{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "the limit is 1048576 (1 MiB)") {
		t.Errorf("Load: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), Options{})
	var errs Errors
	if err == nil || errors.As(err, &errs) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load: %v, want a plain not-exist error", err)
	}
}

// An alias bomb ("billion laughs") must be refused, not expanded: at the
// alias that takes the expansion past MaxAliasNodes (the 8th of line 6).
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	got := errorsOf(t, b.String(), Options{})
	if len(got) != 1 || got[0] != "testdata/t.yaml:6:45: yaml aliases expand the document beyond 100000 nodes (an alias bomb?)" {
		t.Errorf("errors %q", got)
	}
}

func TestDeepNesting(t *testing.T) {
	var block strings.Builder
	block.WriteString("name: t\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&block, "%sk%d:\n", strings.Repeat(" ", i), i)
	}
	cases := map[string]struct{ src, want string }{
		"flow sequences": {"name: t\nx: " + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + "\n",
			"testdata/t.yaml:2:67: nesting is deeper than 64 levels"},
		"flow mappings": {"name: t\nx: " + strings.Repeat("{a: ", 100) + "1" + strings.Repeat("}", 100) + "\n",
			"testdata/t.yaml:2:256: nesting is deeper than 64 levels"},
		"block": {block.String(), "testdata/t.yaml:66:65: nesting is deeper than 64 levels"},
		"block sequences": {"name: t\nx:\n" + strings.Repeat("- ", 100) + "1\n",
			"testdata/t.yaml:3:129: nesting is deeper than 64 levels"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := errorsOf(t, tc.src, Options{})
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("errors %q, want %q", got, tc.want)
			}
		})
	}
}

// Nesting up to the limit is fine (and still an ordinary unknown key).
func TestNestingAtLimit(t *testing.T) {
	src := "name: t\nx: " + strings.Repeat("[", 63) + strings.Repeat("]", 63) + "\n"
	got := errorsOf(t, src, Options{})
	if len(got) != 1 || !strings.HasPrefix(got[0], `testdata/t.yaml:2:1: unknown key "x"`) {
		t.Errorf("errors %q", got)
	}
}

func TestTooManyEntries(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\nnodes:\n")
	for i := 0; i <= MaxEntries; i++ {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	got := errorsOf(t, b.String(), Options{})
	want := fmt.Sprintf("testdata/t.yaml:%d:3: more than 4096 entries in one mapping or list", MaxEntries+3)
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\nnodes:\n")
	for i := 0; i < MaxErrors+50; i++ {
		fmt.Fprintf(&b, "  n%d: {bad: 1}\n", i)
	}
	got := errorsOf(t, b.String(), Options{})
	if len(got) != MaxErrors+1 || got[MaxErrors] != "testdata/t.yaml: and 50 more errors" {
		t.Errorf("%d errors, last %q", len(got), got[len(got)-1])
	}
}
