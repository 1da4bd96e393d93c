package quickexec

import (
	"slices"
	"strings"
	"testing"
)

// parse takes exactly the exec command lines it can run as the CLI would,
// and leaves every other one to the CLI.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		line string
		want execArgs // argv from the line; root "/env" unless set
	}{
		{"exec n1 -- true", execArgs{node: "n1", argv: []string{"true"}}},
		{"exec n1 true", execArgs{node: "n1", argv: []string{"true"}}},
		{"exec lab/n1 -- ping -c 3 h2", execArgs{node: "lab/n1", argv: []string{"ping", "-c", "3", "h2"}}},
		{"exec n1 -- -- x", execArgs{node: "n1", argv: []string{"--", "x"}}},
		{"exec n1 -i cat", execArgs{node: "n1", interactive: true, argv: []string{"cat"}}}, // SPEC: NODE [-i] [-t] [--] CMD
		{"exec n1 --interactive -- cat -i", execArgs{node: "n1", interactive: true, argv: []string{"cat", "-i"}}},
		{"exec n1 -- -i", execArgs{node: "n1", argv: []string{"-i"}}},
		{"exec n1 ls -i", execArgs{node: "n1", argv: []string{"ls", "-i"}}},
		{"exec -- n1 -- true", execArgs{node: "n1", argv: []string{"true"}}},
		{"exec -i n1 cat", execArgs{node: "n1", interactive: true, argv: []string{"cat"}}},
		{"exec --interactive n1 cat", execArgs{node: "n1", interactive: true, argv: []string{"cat"}}},
		{"exec -iq --lab l n1 cat", execArgs{lab: "l", node: "n1", interactive: true, argv: []string{"cat"}}},
		{"exec --lab=l n1 cat", execArgs{lab: "l", node: "n1", argv: []string{"cat"}}},
		{"--root /r exec n1 true", execArgs{root: "/r", node: "n1", argv: []string{"true"}}},
		{"-q --root=/r exec n1 true", execArgs{root: "/r", node: "n1", argv: []string{"true"}}},
		{"exec --root /r --quiet n1 true", execArgs{root: "/r", node: "n1", argv: []string{"true"}}},
	} {
		args := append([]string{"/usr/bin/leolab"}, strings.Fields(c.line)...)
		got, ok := parse(args, "/env")
		want := c.want
		if want.root == "" {
			want.root = "/env"
		}
		if !ok || got.root != want.root || got.lab != want.lab || got.node != want.node ||
			got.interactive != want.interactive || !slices.Equal(got.argv, want.argv) {
			t.Errorf("%q: got %+v, %v; want %+v", c.line, got, ok, want)
		}
	}
	for _, line := range []string{
		"", "deploy x.yaml", "list", "exec", "exec n1", "exec n1 --", "exec --", "exec -- n1",
		"exec -t n1 sh", "exec -it n1 sh", "exec --tty n1 sh", "exec n1 -t sh", "exec n1 -it -- sh", "exec n1 -i", "exec --help", "exec -h n1 true",
		"--help exec n1 true", "exec --log-level debug n1 true", "--log-level=debug exec n1 true",
		"exec --lab n1", "exec --lab -i n1 true", "exec --lab= n1 true", "--root exec n1 true",
		"--root= exec n1 true", "exec --interactive=true n1 cat", "exec -x n1 true", "-i exec n1 true",
		"--lab l exec n1 true", "- exec n1 true", "shell n1", "help exec", "__complete exec n",
		"exec --max-image-size 1G n1 true",
	} {
		args := append([]string{"leolab"}, strings.Fields(line)...)
		if got, ok := parse(args, ""); ok {
			t.Errorf("%q taken by the fast path: %+v", line, got)
		}
	}
	// A node's init re-executed from this binary is never an exec, even in
	// a lab named exec.
	if _, ok := parse([]string{"leolab-init", "exec", "n1", "true"}, ""); ok {
		t.Error("an init's command line was taken")
	}
	if got, _ := parse([]string{"leolab", "exec", "n1", "true"}, ""); got.root != "/var/lib/leolab" {
		t.Errorf("default root %q", got.root)
	}
}

func TestAfterNode(t *testing.T) {
	for _, c := range []struct {
		line             string
		interactive, tty bool
		argv             string
	}{
		{"true", false, false, "true"},
		{"-- true", false, false, "true"},
		{"-i -t -- sh -l", true, true, "sh -l"},
		{"-ti sh", true, true, "sh"},
		{"--tty -- -- x", false, true, "-- x"},
		{"-x", false, false, "-x"}, // not an exec flag: the command
		{"-i", true, false, ""},
	} {
		i, tty, argv := AfterNode(strings.Fields(c.line))
		if i != c.interactive || tty != c.tty || strings.Join(argv, " ") != c.argv {
			t.Errorf("%q: got %v %v %q", c.line, i, tty, argv)
		}
	}
}

// TestParseLeavesAnEmptyCommandNameToTheCLI: `exec n -- ""` is refused by
// the CLI as a usage error; the fast path must not run it.
func TestParseLeavesAnEmptyCommandNameToTheCLI(t *testing.T) {
	if _, ok := parse([]string{"/usr/bin/leolab", "exec", "n1", "--", ""}, "/env"); ok {
		t.Error(`parse took exec n1 -- "" for the fast path`)
	}
}
