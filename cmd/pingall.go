package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"leolab/labs"
)

func newPingallCmd(g *globals) *cobra.Command {
	var workers int
	c := &cobra.Command{
		Use:   "pingall [LAB]",
		Short: "Every node pings every other node once; print a matrix and the loss",
		Long: `Every node pings every other node's first address once (ping -c 1 -W 1), in
parallel, the way Mininet's pingall does (LAB may be left out when only one lab
is running), and prints one row per node: the nodes
it reached, X for each it did not, then the loss. Exit status 1 when any ping was
lost. Colour only on a terminal, never with NO_COLOR set.`,
		Example: "  leolab pingall star-20\n  leolab pingall --max-workers 4 two-lans\n  NO_COLOR=1 leolab pingall star-20",
		Args:    maxArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			lab, err := onlyLab(g, c, args)
			if err != nil {
				return err
			}
			results, err := g.manager(c).PingAll(context.Background(), lab, workers)
			if err != nil {
				return err
			}
			if lost := labs.PrintPingAll(c.OutOrStdout(), results, useColor(c.OutOrStdout())); lost > 0 {
				return fmt.Errorf("%d pings lost", lost)
			}
			return nil
		},
	}
	c.Flags().IntVar(&workers, "max-workers", labs.DefaultWorkers(), "pings in flight at once")
	return c
}

// onlyLab is args[0], or the one running lab when no LAB was given.
func onlyLab(g *globals, c *cobra.Command, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	names := labNames(g, c)
	if len(names) != 1 {
		return "", usageError{fmt.Errorf("%d labs are running: name one (leolab list)", len(names))}
	}
	return names[0], nil
}

// maxArgs is cobra.MaximumNArgs reporting a usage error (exit 2).
func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(c, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
