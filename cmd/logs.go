package cmd

import (
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func newLogsCmd(g *globals) *cobra.Command {
	var lab string
	var follow bool
	c := &cobra.Command{
		Use:   "logs [--lab NAME] NODE [-f]",
		Short: "Show the output of a node's main process",
		Long: `Show what a node's main process (its cmd, or the FRR or BIRD daemons of a
router node) and its init wrote to stdout and stderr. leolab keeps the last
1-2 MiB of it per node, in the lab's state directory, until the lab is destroyed.
NODE may be LAB/NODE; a bare node name must be unambiguous among running labs.`,
		Example: "  leolab logs r1\n  leolab logs --lab ospf-triangle r1 -f",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(c.Context(), unix.SIGINT, unix.SIGTERM)
			defer stop()
			return g.manager(c).Logs(ctx, lab, args[0], follow, c.OutOrStdout())
		},
	}
	c.Flags().StringVar(&lab, "lab", "", "lab of NODE")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until interrupted")
	return c
}
