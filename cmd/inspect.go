package cmd

import (
	"github.com/spf13/cobra"

	"leolab/render"
)

func newInspectCmd(g *globals) *cobra.Command {
	var lab, format string
	var all bool
	c := &cobra.Command{
		Use:     "inspect [FILE | --lab NAME | --all]",
		Short:   "Show a lab's nodes, state, pids, interfaces and bridges",
		Example: "  leolab inspect --lab routing\n  leolab inspect --all --format json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			var names []string
			switch {
			case lab != "":
				names = []string{lab}
			case len(args) == 1:
				name, err := labNameOfFile(args[0])
				if err != nil {
					return err
				}
				names = []string{name}
			}
			views, err := g.manager(c).Inspect(names)
			if err != nil {
				return err
			}
			if format == "json" {
				return render.LabsJSON(c.OutOrStdout(), views, all || len(names) == 0)
			}
			render.LabTable(c.OutOrStdout(), views)
			return nil
		},
	}
	c.Flags().StringVar(&lab, "lab", "", "lab name")
	c.Flags().BoolVar(&all, "all", false, "every lab (the default without FILE or --lab)")
	c.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return c
}
