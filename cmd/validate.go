package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"leolab/labs"
	"leolab/render"
	"leolab/topology"
)

func newValidateCmd(g *globals) *cobra.Command {
	var format string
	var opts topology.Options
	c := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a topology file and print the resolved plan",
		Long: `Check a topology file against every rule and print the resolved plan: every
node, interface, address, bridge subnet and link subnet. Errors are listed all at
once as FILE:LINE:COL: message, with exit status 2. Nothing on the host changes.`,
		Example: "  leolab validate labs/examples/two-lans.yaml\n  leolab validate --format json topo.yaml\n  leolab validate --isolated lab.clab.yml",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			plan, err := topology.Load(args[0], opts)
			if err != nil {
				return err
			}
			if w := labs.EmptyLabWarning(plan); w != "" && !g.quiet {
				fmt.Fprintf(c.ErrOrStderr(), "leolab: %s\n", w)
			}
			for _, w := range plan.Warnings {
				if !g.quiet {
					fmt.Fprintf(c.ErrOrStderr(), "leolab: %s\n", w)
				}
			}
			switch format {
			case "table":
				render.PlanTable(c.OutOrStdout(), plan)
				return nil
			case "json":
				return render.PlanJSON(c.OutOrStdout(), plan)
			}
			return usageError{fmt.Errorf("--format %q: want table or json", format)}
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table or json")
	c.Flags().BoolVar(&opts.Isolated, "isolated", false, "plan it as deploy --isolated would (bridges in a private namespace, no nat)")
	c.Flags().StringVar(&opts.RootfsOverride, "rootfs", "", "plan it as deploy --rootfs would")
	c.Flags().Var(imageFlag{&opts.Images}, "image", "map registry images to a rootfs, PATTERN=ROOTFS, as deploy does (repeatable)")
	return c
}
