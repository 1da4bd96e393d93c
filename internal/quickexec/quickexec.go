// Package quickexec runs `leolab exec NODE -- CMD` before the rest of the
// CLI has started, when the command line is one it understands fully.
//
// Go initialises a program's packages one at a time: among those whose
// imports are all initialised, the first by import path goes next (Go
// spec, "Package initialization"). This package, internal/labdir,
// internal/wire/ctlwire and internal/spec/nodespec import only packages that os and os/signal need anyway
// (errors, io, io/fs, path, sync, syscall), which initialise early, while
// every heavy dependency of the CLI (cobra, goccy/go-yaml, netlink,
// go-iptables, xz, encoding/json) needs fmt and reflect, which come after
// unicode, as do strings and path/filepath, avoided here for that reason.
// So its init function runs before any of their initialisers, and an exec
// it handles ends the process right there. Skipping those initialisers and
// cobra takes 2–4 ms off an exec on the project's VM (bench/RESULTS.md).
//
// It handles: global --root, -q; exec's --lab, -i; NODE or LAB/NODE; -i
// after it; an optional "--"; the command. Everything else (other verbs, -t, --help,
// --log-level, any flag it does not know, not root, a node it cannot find
// or connect to) it leaves alone, and the CLI then does the same thing or
// prints the error. Once connected, the exec behaves as the CLI's: the
// same client (ctlwire.RunPipes), exit status and messages.
// e2e's TestExecFastPathSkipsTheCLI checks with GODEBUG=inittrace that no
// third-party initialiser runs on this path.
package quickexec

import (
	"io"
	"os"
	"path"

	"leolab/internal/labdir"
	"leolab/internal/spec/nodespec"
	"leolab/internal/wire/ctlwire"
)

func init() {
	a, ok := parse(os.Args, os.Getenv("LEOLAB_ROOT"))
	if !ok || os.Geteuid() != 0 {
		return
	}
	c := connect(a)
	if c == nil {
		return
	}
	os.Exit(run(c, a))
}

// execArgs is an exec command line the fast path handles.
type execArgs struct {
	root, lab, node string
	interactive     bool
	argv            []string
}

// parse reads args as cobra would for `leolab [global flags] exec [flags]
// NODE [--] CMD...` and says whether it is such a command line, with no
// flag or form the fast path leaves to the CLI. envRoot is LEOLAB_ROOT.
func parse(args []string, envRoot string) (execArgs, bool) {
	a := execArgs{root: envRoot}
	if a.root == "" {
		a.root = labdir.DefaultRoot
	}
	if len(args) == 0 || path.Base(args[0]) == nodespec.InitArg0 { // a node's init, not an exec
		return a, false
	}
	rest := args[1:]
	verb := false
	for len(rest) > 0 {
		arg := rest[0]
		rest = rest[1:]
		if arg == "--" && verb {
			if len(rest) == 0 {
				return a, false
			}
			a.node, rest = rest[0], rest[1:]
			break
		}
		if !hasPrefix(arg, "-") || arg == "-" {
			if !verb {
				if arg != "exec" {
					return a, false
				}
				verb = true
				continue
			}
			a.node = arg
			break
		}
		var ok bool
		if rest, ok = a.flag(arg, rest, verb); !ok {
			return a, false
		}
	}
	if a.node == "" {
		return a, false
	}
	interactive, tty, argv := AfterNode(rest)
	if tty || len(argv) == 0 || argv[0] == "" { // an empty command name: the CLI refuses it
		return a, false
	}
	a.interactive = a.interactive || interactive
	a.argv = argv
	return a, true
}

// AfterNode reads what follows NODE in `exec [flags] NODE [-i] [-t] [--]
// CMD [ARG…]` (SPEC §4): -i, -t, -it or -ti, --interactive, --tty, then an
// optional "--", then the command and its arguments. The CLI's exec verb
// uses it too (its flags end at NODE).
func AfterNode(args []string) (interactive, tty bool, argv []string) {
	for ; len(args) > 0; args = args[1:] {
		switch args[0] {
		case "-i", "--interactive":
			interactive = true
		case "-t", "--tty":
			tty = true
		case "-it", "-ti":
			interactive, tty = true, true
		default:
			if args[0] == "--" {
				args = args[1:]
			}
			return interactive, tty, args
		}
	}
	return interactive, tty, nil
}

// flag takes one flag (and its value from rest, when separate); exec's
// own flags only after the verb. ok is false for anything else.
func (a *execArgs) flag(arg string, rest []string, verb bool) ([]string, bool) {
	name, value, inline := cutEqual(arg)
	takeValue := func(dst *string) bool {
		if !inline {
			if len(rest) == 0 || hasPrefix(rest[0], "-") {
				return false
			}
			value, rest = rest[0], rest[1:]
		}
		*dst = value
		return value != ""
	}
	switch {
	case name == "--root":
		ok := takeValue(&a.root) // before reading rest, which it advances
		return rest, ok
	case name == "--lab" && verb:
		ok := takeValue(&a.lab)
		return rest, ok
	case inline:
		return rest, false
	case arg == "--quiet":
		return rest, true
	case arg == "--interactive" && verb:
		a.interactive = true
		return rest, true
	case hasPrefix(arg, "--"):
		return rest, false
	}
	for _, c := range arg[1:] { // -q, -i, -iq…
		switch {
		case c == 'q':
		case c == 'i' && verb:
			a.interactive = true
		default:
			return rest, false
		}
	}
	return rest, true
}

// connect finds the node and connects to its control socket; nil leaves
// the command to the CLI, which reports why.
func connect(a execArgs) *ctlwire.Conn {
	node, labs, err := labdir.Locate(a.root, a.lab, a.node)
	if err != nil || len(labs) != 1 {
		return nil
	}
	socket, err := os.Readlink(labdir.ControlLink(a.root, labs[0], node))
	if err != nil {
		return nil
	}
	c, err := ctlwire.Dial(socket)
	if err != nil {
		return nil
	}
	return c
}

// run is the exec from here on, as the CLI's: the command's exit status,
// or 1 and "leolab: ERROR" for a transport failure.
func run(c *ctlwire.Conn, a execArgs) int {
	defer c.Close()
	var stdin io.Reader // without -i the command's stdin is closed
	if a.interactive {
		stdin = os.Stdin
	}
	code, err := ctlwire.RunPipes(c, ctlwire.ExecRequest{Argv: a.argv}, stdin, os.Stdout, os.Stderr)
	if err != nil {
		os.Stderr.WriteString("leolab: " + err.Error() + "\n")
		return 1
	}
	return code
}

// hasPrefix and cutEqual are strings.HasPrefix and strings.Cut(s, "="):
// package strings initialises too late for this package.
func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

func cutEqual(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
