package check

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"leolab/topology"
)

// execLab is a lab whose exec checks are answered by fn, called with the
// attempt's number (1, 2, …) per node; nothing touches the kernel.
func execLab(fn func(node string, attempt int) (int, string)) *Lab {
	counts := map[string]*atomic.Int32{"a": {}, "b": {}}
	return &Lab{
		Plan: &topology.Plan{Name: "t"},
		Exec: func(_ context.Context, node string, _ []string, out io.Writer) (int, error) {
			code, text := fn(node, int(counts[node].Add(1)))
			fmt.Fprint(out, text)
			return code, nil
		},
	}
}

func execCheck(node string, exit int, output string) topology.Check {
	return topology.Check{Name: "check " + node, Kind: topology.KindExec, Node: node,
		Exec: &topology.ExecCheck{Argv: []string{"x"}, Exit: &exit, Output: output}}
}

// A failing check is retried until it passes; Waiting hears of it once.
func TestRunRetriesUntilPass(t *testing.T) {
	lab := execLab(func(node string, attempt int) (int, string) {
		if node == "a" && attempt < 3 {
			return 1, "not yet"
		}
		return 0, "converged"
	})
	var waiting []string
	results := Run(context.Background(), lab, []topology.Check{execCheck("a", 0, "^conv"), execCheck("b", 0, "")},
		Options{Timeout: time.Hour, Interval: time.Millisecond, Waiting: func(r Result) { waiting = append(waiting, r.Name+": "+r.Detail) }})
	if !Passed(results) || results[0].Attempts != 3 || results[1].Attempts != 1 {
		t.Fatalf("results = %+v", results)
	}
	if len(waiting) != 1 || waiting[0] != `check a: exit status 1, want 0; output: "not yet"` {
		t.Fatalf("waiting = %q", waiting)
	}
}

// Without a timeout a check gets one attempt; a check that never passes
// is given up with what the last attempt found.
func TestRunGivesUp(t *testing.T) {
	lab := execLab(func(string, int) (int, string) { return 0, "something else" })
	results := Run(context.Background(), lab, []topology.Check{execCheck("a", 0, "^wanted$")}, Options{})
	r := results[0]
	if Passed(results) || r.OK || r.Attempts != 1 || !strings.Contains(r.Detail, `output does not match "^wanted$": "something else"`) {
		t.Fatalf("result = %+v", r)
	}
	results = Run(context.Background(), lab, []topology.Check{execCheck("b", 3, "")}, Options{Timeout: 30 * time.Millisecond, Interval: time.Millisecond})
	if r := results[0]; r.OK || r.Attempts < 1 || r.Detail != `exit status 0, want 3; output: "something else"` {
		t.Fatalf("result = %+v", r)
	}
}

// A cancelled run stops retrying.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	lab := execLab(func(_ string, attempt int) (int, string) {
		if attempt == 2 {
			cancel()
		}
		return 1, ""
	})
	results := Run(ctx, lab, []topology.Check{execCheck("a", 0, "")}, Options{Timeout: time.Hour, Interval: time.Millisecond})
	if results[0].OK || results[0].Attempts != 2 {
		t.Fatalf("result = %+v", results[0])
	}
}
