package cmd

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"leolab/check"
)

func newTraceCmd(g *globals) *cobra.Command {
	var lab, format string
	c := &cobra.Command{
		Use:   "trace [--lab L] FROM TO [--format json]",
		Short: "Follow a packet from FROM to TO hop by hop and say where and why it stops",
		Long: `Follow a packet from node FROM to TO (a node, whose first address is used,
NODE:IFACE, or an IPv4 address) through the nodes' kernel state, read over
netlink inside each node: at every hop the route lookup (which route, which
interface, which next hop), the interface's state (down, no carrier, netem loss
100%), which node owns the next hop on that bridge or link, and its neighbour
(ARP) entry, probed when missing. The reply's path from TO back to FROM's source
address is traced the same way. A real ping (an ICMP socket inside FROM) ends
the trace.

The verdict names the node and the reason: no route, link down, next hop not on
the link, neighbour unreachable, forwarding disabled, loop (a node reached
twice), TTL, reverse path missing, or ping disagrees (the kernel state and the
ping tell different stories: a firewall in a node, for instance). Exit status 0
when the packet gets there and back and the ping agrees, 1 otherwise.
--format json: {ok, forward: {hops: [{node, iface, via, route}], failure: {node,
reason, detail}}, reverse: {…}, ping, verdict}.`,
		Example: `  leolab trace h1 h2
  leolab trace --lab two-lans a1 b1:eth0
  leolab trace r1 10.0.0.1 --format json`,
		Args:    exactArgs(2),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tr, err := g.manager(c).Trace(ctx, lab, args[0], args[1])
			if err != nil {
				return err
			}
			if format == "json" {
				err = check.WriteTraceJSON(c.OutOrStdout(), tr)
			} else {
				err = check.WriteTrace(c.OutOrStdout(), tr)
			}
			if err != nil {
				return err
			}
			if !tr.OK {
				return exitError{1}
			}
			return nil
		},
	}
	c.Flags().StringVar(&lab, "lab", "", "lab name (when FROM's name is ambiguous)")
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return c
}
