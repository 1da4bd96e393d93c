package cmd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"leolab/labs/view"
)

// run executes the CLI in-process with a private root and returns its
// stdout, stderr and exit status.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	g := &globals{}
	root := newRoot(g)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"--root", t.TempDir()}, args...))
	code := exitStatus(root.Execute(), &errb)
	return out.String(), errb.String(), code
}

// TestEveryVerbHasExamples: --help shows examples on every verb.
func TestEveryVerbHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&globals{}))
}

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_leolab", "zsh": "#compdef leolab", "fish": "complete -c leolab"} {
		out, errOut, code := run(t, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, %q not in output (stderr %s)", shell, code, marker, errOut)
		}
	}
	if _, _, code := run(t, "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}

// TestNodeNameCompletion asks cobra's hidden __complete verb what it would
// offer after exec; with no running lab, nothing and no host files.
func TestNodeNameCompletion(t *testing.T) {
	out, _, code := run(t, "__complete", "exec", "")
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), ":4") {
		t.Errorf("__complete exec with no labs: exit %d\n%s", code, out)
	}
}

func TestNodeNamesOfLabs(t *testing.T) {
	views := []view.Lab{
		{Name: "a", Nodes: []view.Node{{Name: "h1"}, {Name: "r1"}}},
		{Name: "b", Nodes: []view.Node{{Name: "h1"}}},
	}
	got := strings.Join(nodeCandidates(views, ""), " ")
	if want := "a/h1 a/r1 b/h1 r1"; got != want {
		t.Errorf("candidates = %q, want %q", got, want)
	}
	got = strings.Join(nodeCandidates(views, "b"), " ")
	if want := "h1"; got != want {
		t.Errorf("candidates with --lab b = %q, want %q", got, want)
	}
}

func TestGraphSVGWithoutDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no dot here
	topo := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(topo, []byte("name: g\nbridges: {lan: {}}\nnodes: {h1: {interfaces: {eth0: lan}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "graph", "--format", "svg", topo)
	if code != 1 || !strings.Contains(errOut, "apt-get install graphviz") {
		t.Errorf("graph svg without dot: exit %d\n%s", code, errOut)
	}
	out, _, code := run(t, "graph", "--format", "mermaid", topo)
	if code != 0 || !strings.Contains(out, "h1") {
		t.Errorf("graph mermaid: exit %d\n%s", code, out)
	}
	if _, _, code := run(t, "graph", "--lab", "g", topo); code != 2 {
		t.Errorf("graph with both FILE and --lab: exit %d, want 2", code)
	}
	if _, errOut, code := run(t, "graph", "--lab", "nosuch"); code != 1 || !strings.Contains(errOut, "no lab named nosuch") {
		t.Errorf("graph --lab of no lab: exit %d\n%s", code, errOut)
	}
}

func TestUseColor(t *testing.T) {
	var buf bytes.Buffer
	if useColor(&buf) {
		t.Error("colour on a buffer")
	}
	t.Setenv("NO_COLOR", "1")
	if useColor(os.Stdout) {
		t.Error("colour with NO_COLOR set")
	}
}

func TestGraphSVGWithDot(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz (dot) not installed")
	}
	topo := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(topo, []byte("name: g\nbridges: {lan: {}}\nnodes: {h1: {interfaces: {eth0: lan}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "graph", "--format", "svg", topo)
	if code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(out, "h1") {
		t.Errorf("graph svg: exit %d\n%.300s\n%s", code, out, errOut)
	}
}

// TestValidateImageFlag: validate --image maps images as deploy does; a bad
// mapping is a usage error.
func TestValidateImageFlag(t *testing.T) {
	file := "../topology/testdata/clab/routers.clab.yml"
	out, stderr, code := run(t, "validate", "--format", "json", "--image", "frrouting/frr:*=debian:bookworm+frr", file)
	if code != 0 || strings.Count(out, `"debian:bookworm+frr"`) != 2 || !strings.Contains(out, `"docker://alpine:3.20"`) {
		t.Errorf("exit %d, stderr %q, plan:\n%s", code, stderr, out)
	}
	if _, stderr, code := run(t, "validate", "--image", "frrouting/frr", file); code != 2 || !strings.Contains(stderr, "not PATTERN=ROOTFS") {
		t.Errorf("bad --image: exit %d, stderr %q", code, stderr)
	}
}

// TestFormatErrors: a --format a verb does not know is bad usage (exit 2),
// worded as the verbs always have.
func TestFormatErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "--format", "xml", "--all"}, `leolab: --format "xml": want table or json` + "\n"},
		{[]string{"graph", "--format", "png", "--lab", "g"}, `leolab: --format "png": want dot, mermaid or svg` + "\n"},
	} {
		_, errOut, code := run(t, c.args...)
		if code != 2 || errOut != c.want {
			t.Errorf("%v: exit %d, stderr %q; want exit 2, %q", c.args, code, errOut, c.want)
		}
	}
	for _, c := range []struct {
		format string
		want   []string
		err    string
	}{
		{"json", []string{"text", "json"}, ""},
		{"yaml", []string{"text", "json"}, `--format "yaml": want text or json`},
		{"junit", []string{"table", "json", "junit"}, ""},
		{"", []string{"table", "json", "junit"}, `--format "": want table, json or junit`},
	} {
		err := checkFormat(c.format, c.want...)
		var ue usageError
		switch {
		case c.err == "" && err != nil:
			t.Errorf("checkFormat(%q, %v) = %v, want nil", c.format, c.want, err)
		case c.err != "" && (err == nil || err.Error() != c.err || !errors.As(err, &ue)):
			t.Errorf("checkFormat(%q, %v) = %v, want usage error %q", c.format, c.want, err, c.err)
		}
	}
}
