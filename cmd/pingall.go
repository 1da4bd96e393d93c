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
		Use:     "pingall LAB",
		Short:   "Every node pings every other node once; print a matrix and the loss",
		Example: "  leolab pingall star-20",
		Args:    exactArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			results, err := g.manager(c).PingAll(context.Background(), args[0], workers)
			if err != nil {
				return err
			}
			if lost := labs.PrintPingAll(c.OutOrStdout(), results); lost > 0 {
				return fmt.Errorf("%d pings lost", lost)
			}
			return nil
		},
	}
	c.Flags().IntVar(&workers, "max-workers", labs.DefaultWorkers(), "pings in flight at once")
	return c
}
