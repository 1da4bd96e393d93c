package cmd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"leolab/webui"
)

func newUICmd(g *globals) *cobra.Command {
	var opts webui.Options
	c := &cobra.Command{
		Use:   "ui [--lab L] [--listen 127.0.0.1:8090] [--allow-remote]",
		Short: "A live web view of the labs, with link actions and terminals",
		Long: `Serve a web page showing every running lab (or only --lab L) live: the topology
as a graph, each node's state, each link's up/down state and impairments, and
per-interface packet and byte rates, read over netlink once a second. From the
page, links go down and up, netem is set and cleared, checks run, and a terminal
opens a shell in a node. A side panel lists every node and link as text.

The URL printed carries a random token; every request without it is refused.
The page can open root shells in the nodes: it listens on loopback only unless
--allow-remote is given with a non-loopback --listen. Nothing is fetched from
the network: every asset is inside leolab. Stop with Ctrl-C.`,
		Example: "  leolab ui\n  leolab ui --lab demo --listen 127.0.0.1:9000",
		Args:    exactArgs(0),
		PreRunE: func(c *cobra.Command, args []string) error {
			if err := webui.CheckListen(opts.Listen, opts.AllowRemote); err != nil {
				return usageError{err}
			}
			return requireRoot(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Manager = g.manager(c)
			s, err := webui.New(opts)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", opts.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(c.OutOrStdout(), "leolab ui: open %s\n", s.URL(ln))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return s.Serve(ctx, ln)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Lab, "lab", "", "show this lab only")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:8090", "address to listen on (HOST:PORT; port 0 picks a free one)")
	f.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a non-loopback --listen address")
	return c
}
