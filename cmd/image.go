package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"leolab/internal/spec/debspec"
)

func newImageCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "image (build|ls|rm|prune)",
		Short:   "Manage the root filesystem image cache",
		Example: "  leolab image build debian:bookworm+frr\n  leolab image ls\n  leolab image rm 3f2a9c\n  leolab image prune",
	}
	c.AddCommand(newImageBuildCmd(g), &cobra.Command{
		Use:     "ls",
		Short:   "List cached images: source (a Debian image's suite and packages), digest, size, last used",
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
				fmt.Fprintf(tw, "%s\t%.12s\t%s\t%s\n", i.Source, i.Digest, humanSize(i.Size), i.LastUsed.Local().Format(time.DateTime))
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

func newImageBuildCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "build ROOTFS",
		Short: "Build or pull a rootfs into the image cache ahead of time",
		Long: `Build ROOTFS (any value of a node's rootfs:, e.g. debian:bookworm+frr+tcpdump
or docker://alpine:3.20) into the image cache, so that a deploy needing it pays
nothing. A Debian rootfs is built once with mmdebstrap (or debootstrap) from the
host's apt sources; SIGINT stops the build and leaves nothing in the cache.`,
		Example: "  leolab image build debian:bookworm+frr\n  leolab image build docker://alpine:3.20",
		Args:    exactArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			if debspec.Is(args[0]) {
				if _, err := debspec.Parse(args[0]); err != nil {
					return usageError{err}
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m := g.manager(c)
			m.Progress = c.ErrOrStderr()
			m.Live = isTerminal(m.Progress)
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			img, err := m.Images().Prepare(ctx, args[0], cwd)
			if err != nil {
				return err
			}
			if img.Digest == "" {
				fmt.Fprintf(c.OutOrStdout(), "%s: used in place, nothing to cache\n", img.Source)
				return nil
			}
			fmt.Fprintf(c.OutOrStdout(), "%s\t%.12s\n", img.Source, img.Digest)
			return nil
		},
	}
}

// humanSize writes bytes in the largest binary unit that keeps a digit
// before the point.
func humanSize(n int64) string {
	const units = "KMGT"
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}
