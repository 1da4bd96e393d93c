package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"leolab/labs"
	"leolab/render"
)

func newPingallCmd(g *globals) *cobra.Command {
	var workers int
	var only4, only6 bool
	c := &cobra.Command{
		Use:   "pingall [LAB]",
		Short: "Every node pings every other node once; print a matrix and the loss",
		Long: `Every node pings every other node's first address once (ping -c 1 -W 1), in
parallel, the way Mininet's pingall does (LAB may be left out when only one lab
is running), and prints one row per node: the nodes
it reached, X for each it did not, then the loss. In a dual-stack lab every node
pings every other node's first IPv4 and first IPv6 address (ping -6), the rows
under "IPv4:" and "IPv6:"; -4 or -6 pings one family only. Exit status 1 when any
ping was lost. Colour only on a terminal, never with NO_COLOR set.`,
		Example: "  leolab pingall star-20\n  leolab pingall --max-workers 4 two-lans\n  leolab pingall -6 dual-stack\n  NO_COLOR=1 leolab pingall star-20",
		Args:    maxArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			lab, err := onlyLab(g, c, args)
			if err != nil {
				return err
			}
			fam := labs.PingBoth
			switch {
			case only4 && only6:
				return usageError{fmt.Errorf("-4 and -6 exclude each other (neither pings both)")}
			case only4:
				fam = labs.Ping4
			case only6:
				fam = labs.Ping6
			}
			results, err := g.manager(c).PingAllFamilies(context.Background(), lab, workers, fam)
			if err != nil {
				return err
			}
			if lost := render.PingMatrix(c.OutOrStdout(), results, useColor(c.OutOrStdout())); lost > 0 {
				return fmt.Errorf("%d pings lost", lost)
			}
			return nil
		},
	}
	c.Flags().IntVar(&workers, "max-workers", labs.DefaultWorkers(), "pings in flight at once")
	c.Flags().BoolVarP(&only4, "ipv4", "4", false, "ping IPv4 addresses only")
	c.Flags().BoolVarP(&only6, "ipv6", "6", false, "ping IPv6 addresses only (ping -6)")
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
