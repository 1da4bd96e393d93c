package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"leolab/render"
	"leolab/topology"
)

// errNoDot explains what to do when --format svg finds no Graphviz.
var errNoDot = errors.New("--format svg needs Graphviz's dot program, which is not installed " +
	"(apt-get install graphviz); or print --format dot and render it elsewhere, " +
	"or --format mermaid for GitHub and mermaid.live")

func newGraphCmd(g *globals) *cobra.Command {
	var format, lab string
	c := &cobra.Command{
		Use:   "graph (FILE | --lab NAME) [--format dot|mermaid|svg]",
		Short: "Print the topology as a diagram (Graphviz dot, Mermaid or SVG)",
		Long: `Draw a topology file, or a deployed lab (--lab), as a diagram: bridges as
boxes, nodes as ellipses, edges labelled with interface names and addresses.
dot and mermaid are text; svg runs Graphviz's dot program, which must be
installed. Nothing on the host changes.`,
		Example: `  leolab graph labs/examples/two-lans.yaml | dot -Tpng > two-lans.png
  leolab graph --format svg labs/examples/two-lans.yaml > two-lans.svg
  leolab graph --lab two-lans --format mermaid`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(format, "dot", "mermaid", "svg"); err != nil {
				return err
			}
			if (lab == "") == (len(args) == 0) {
				return usageError{errors.New("give exactly one of FILE or --lab NAME")}
			}
			plan, err := graphPlan(g, c, lab, args)
			if err != nil {
				return err
			}
			out, err := renderGraph(plan, format)
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(out)
			return err
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "diagram format: dot, mermaid or svg (svg needs Graphviz)")
	c.Flags().StringVar(&lab, "lab", "", "draw a deployed lab instead of a file")
	return c
}

func graphPlan(g *globals, c *cobra.Command, lab string, args []string) (*topology.Plan, error) {
	if lab != "" {
		return g.manager(c).LabPlan(lab)
	}
	return topology.Load(args[0], topology.Options{})
}

// renderGraph draws plan; svg pipes the dot text through Graphviz.
func renderGraph(plan *topology.Plan, format string) ([]byte, error) {
	text := "dot"
	if format == "mermaid" {
		text = "mermaid"
	}
	out, err := render.Graph(plan, text)
	if err != nil || format != "svg" {
		return []byte(out), err
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		return nil, errNoDot
	}
	var svg, stderr bytes.Buffer
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader([]byte(out)), &svg, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dot -Tsvg: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return svg.Bytes(), nil
}
