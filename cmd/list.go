package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"leolab/render"
)

func newListCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:     "list",
		Short:   "List deployed labs, one a line",
		Example: "  leolab list\n  leolab list --format json",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			m := g.manager(c)
			switch format {
			case "table":
				entries, err := m.List()
				if err != nil {
					return err
				}
				render.ListTable(c.OutOrStdout(), entries)
				return nil
			case "json":
				views, err := m.Inspect(nil)
				if err != nil {
					return err
				}
				return render.LabsJSON(c.OutOrStdout(), views, true)
			}
			return usageError{fmt.Errorf("--format %q: want table or json", format)}
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return c
}
