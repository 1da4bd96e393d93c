package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"leolab/check"
)

func newCheckCmd(g *globals) *cobra.Command {
	var lab, checksFile, format string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "check [--lab L | FILE] [--checks FILE] [--timeout 60s] [--format table|json|junit]",
		Short: "Check a running lab against its expectations (checks:)",
		Long: `Run a running lab's checks: those of --checks FILE (a teacher's file with a
checks: list), else those of the topology FILE given, else those the lab was
deployed with. Without FILE or --lab, the one running lab. Every check runs at
once; a failing one is retried until it passes or --timeout has passed since the
start (routing daemons need time to converge). Reach checks ping from inside the
node with an ICMP socket of leolab's own (no ping needed in the node); route
checks read the node's main table over netlink; daemon checks look for the
process among the node's; exec checks run the command in the node.

One line per check: PASS or FAIL, the seconds it took to pass (or until it was
given up), its name and, for a failure, what was found. --format json prints a
list of {name, kind, node, ok, seconds, detail, attempts}; --format junit prints
JUnit XML (one testcase per check) for CI systems and grading scripts. While a
check is retried, a "waiting" line for it goes to stderr (not with -q).
Exit status 0 when every check passed, 1 when any failed, 2 for bad input (an
invalid checks file: every error as FILE:LINE:COL).`,
		Example: `  leolab check labs/examples/two-lans.yaml
  leolab check --lab two-lans --checks teacher.yaml --format junit > results.xml
  leolab check --timeout 2m --format json`,
		Args:    maxArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "junit"); err != nil {
				return err
			}
			file := ""
			if len(args) == 1 {
				if lab != "" {
					return usageError{fmt.Errorf("give FILE or --lab, not both")}
				}
				file = args[0]
			} else if lab == "" {
				name, err := onlyLab(g, c, nil)
				if err != nil {
					return err
				}
				lab = name
			}
			t, err := g.manager(c).LoadChecks(lab, file, checksFile)
			if err != nil {
				return err
			}
			if len(t.Checks) == 0 {
				return usageError{fmt.Errorf("lab %s has no checks: add checks: to its file, or give --checks FILE", t.Lab.Plan.Name)}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := check.Options{Timeout: timeout}
			if !g.quiet {
				opts.Waiting = func(r check.Result) {
					fmt.Fprintf(c.ErrOrStderr(), "waiting: %s: %s\n", r.Name, r.Detail)
				}
			}
			results := check.Run(ctx, t.Lab, t.Checks, opts)
			out := c.OutOrStdout()
			switch format {
			case "json":
				err = check.WriteJSON(out, results)
			case "junit":
				err = check.WriteJUnit(out, t.Lab.Plan.Name, results)
			default:
				err = check.WriteTable(out, results)
			}
			if err != nil {
				return err
			}
			if !check.Passed(results) {
				return exitError{1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&lab, "lab", "", "lab name")
	f.StringVar(&checksFile, "checks", "", "read the checks from this file (checks: [...]) instead")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "retry failing checks for this long")
	f.StringVar(&format, "format", "table", "output format: table, json or junit")
	return c
}
