package cmd

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newImageCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "image (ls|rm|prune)",
		Short:   "Manage the root filesystem image cache",
		Example: "  leolab image ls\n  leolab image rm 3f2a9c\n  leolab image prune",
	}
	c.AddCommand(&cobra.Command{
		Use:     "ls",
		Short:   "List cached images: source, digest, size, last used",
		Example: "  leolab image ls",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			infos, err := g.manager(c).Images().List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tDIGEST\tSIZE\tLAST USED")
			for _, i := range infos {
				fmt.Fprintf(tw, "%s\t%.12s\t%d\t%s\n", i.Source, i.Digest, i.Size, i.LastUsed.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}, &cobra.Command{
		Use:     "rm DIGEST",
		Short:   "Remove one cached image (by digest prefix)",
		Example: "  leolab image rm 3f2a9c",
		Args:    exactArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			return g.manager(c).RemoveImage(args[0])
		},
	}, &cobra.Command{
		Use:     "prune",
		Short:   "Remove every cached image no deployed lab uses",
		Example: "  leolab image prune",
		Args:    exactArgs(0),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, _ []string) error {
			removed, err := g.manager(c).PruneImages()
			for _, d := range removed {
				fmt.Fprintf(c.OutOrStdout(), "removed %.12s\n", d)
			}
			return err
		},
	})
	return c
}
