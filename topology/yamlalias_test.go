package topology

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestClabAnchorsAndMergeKeys: a containerlab file with anchors, aliases
// and merge keys (<<: *x and <<: [*x, *y]) translates as if every alias
// were written out: a key of the node's own wins over a merged one, the
// earlier of two merged mappings wins (issue 14 item 9).
func TestClabAnchorsAndMergeKeys(t *testing.T) {
	p, err := Load("testdata/clab/anchors.clab.yml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		node, rootfs string
		env, exec    []string
		fwd          bool
	}{
		{"r1", "docker://frrouting/frr:v8.4.1", []string{"LAB=anchors", "ROLE=router"}, []string{"ip link set lo up"}, true},
		{"r2", "docker://frrouting/frr:v8.4.1", []string{"ROLE=edge"}, []string{"ip link set lo up"}, true},
		{"h1", "docker://alpine:3.20", []string{"ROLE=host"}, []string{"ip link set lo up"}, false},
		{"h2", "docker://alpine:3.20", []string{"LAB=anchors", "ROLE=router"}, []string{"ip link set lo up"}, true},
	} {
		n := nodeByName(t, p, c.node)
		if n.Rootfs != c.rootfs || !reflect.DeepEqual(n.Env, c.env) || !reflect.DeepEqual(n.Exec, c.exec) {
			t.Errorf("%s: rootfs %s env %v exec %v, want %s %v %v", c.node, n.Rootfs, n.Env, n.Exec, c.rootfs, c.env, c.exec)
		}
		if fwd := len(n.Sysctls) == 1 && n.Sysctls[0].Value == "1"; fwd != c.fwd {
			t.Errorf("%s: sysctls %+v", c.node, n.Sysctls)
		}
	}
}

// TestAliasesInLeolabFiles: leolab's own format takes aliases and merge
// keys too, and errors inside a merged mapping are still located.
func TestAliasesInLeolabFiles(t *testing.T) {
	src := `name: t
bridges: {lan: {}}
nodes:
  a: &base {interfaces: {eth0: lan}, env: {K: v}}
  b: {<<: *base, env: {K: w}}
  c: {<<: *base, bogus: 1}
`
	got := errorsOf(t, src, Options{})
	want := []string{`testdata/t.yaml:6:18: unknown key "bogus" in node c; expected one of`}
	if len(got) != 1 || !strings.HasPrefix(got[0], want[0]) {
		t.Fatalf("errors %q, want %q…", got, want)
	}
	p, err := Parse("t.yaml", []byte(strings.Replace(src, ", bogus: 1", "", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string]string{"a": "K=v", "b": "K=w", "c": "K=v"} {
		n := nodeByName(t, p, name)
		if len(n.Interfaces) != 1 || len(n.Env) != 1 || n.Env[0] != env {
			t.Errorf("%s: interfaces %+v env %v, want eth0 and %s", name, n.Interfaces, n.Env, env)
		}
	}
}

// TestAliasBudgetCountsWhatAliasesAdd: a file whose aliases add up to
// MaxAliasNodes is read; one more alias of the same value is refused at
// that alias.
func TestAliasBudgetCountsWhatAliasesAdd(t *testing.T) {
	// x is a list of 999 scalars: 1000 nodes; each *x adds 1000.
	x := strings.TrimSuffix(strings.Repeat("1,", 999), ",")
	build := func(aliases int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "name: t\nnodes: {a: {env: {K: v}}}\ndefaults: {env: {X: &x [%s]}}\n", x)
		b.WriteString("links: [")
		for i := range aliases {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*x")
		}
		b.WriteString("]\n")
		return b.String()
	}
	// Within the budget: only ordinary errors (env values and links must
	// be other things), none about aliases.
	for _, e := range errorsOf(t, build(MaxAliasNodes/1000), Options{}) {
		if strings.Contains(e, "alias") {
			t.Fatalf("within the budget: %s", e)
		}
	}
	got := errorsOf(t, build(MaxAliasNodes/1000+1), Options{})
	col := len("links: [") + 1 + (MaxAliasNodes/1000)*len("*x, ")
	want := fmt.Sprintf("testdata/t.yaml:4:%d: yaml aliases expand the document beyond %d nodes (an alias bomb?)", col, MaxAliasNodes)
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors %q, want %q", got, want)
	}
}
