package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"leolab/internal/graph"
	"leolab/labs"
	"leolab/topology"
)

func newGraphCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:     "graph FILE",
		Short:   "Print the topology as a diagram (Graphviz dot or Mermaid)",
		Example: "  leolab graph topo.yaml | dot -Tsvg > topo.svg\n  leolab graph --format mermaid topo.yaml",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if format != "dot" && format != "mermaid" {
				return usageError{fmt.Errorf("--format %q: want dot or mermaid", format)}
			}
			plan, err := labs.Load(args[0], topology.Options{})
			if err != nil {
				return err
			}
			out, err := graph.Render(plan, format)
			if err != nil {
				return err
			}
			fmt.Fprint(c.OutOrStdout(), out)
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "diagram format: dot or mermaid")
	return c
}
