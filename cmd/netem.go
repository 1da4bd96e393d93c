package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"leolab/render"
	"leolab/topology"
)

func newNetemCmd(g *globals) *cobra.Command {
	var lab string
	var flags topology.NetemFlags
	var impair *topology.Netem
	c := &cobra.Command{
		Use:   "netem (set|show|clear) NODE:IFACE",
		Short: "Change link impairments (delay, jitter, loss, rate) on a running lab",
		Long: `Set, show or clear netem impairments on one node interface of a running lab.
On a point-to-point link both ends are changed; on a bridge port both the node
end and the bridge-side end, so the impairment applies in both directions.`,
		Example: "  leolab netem set r1:eth1 --delay 50ms --jitter 5ms --loss 1%\n  leolab netem show r1:eth1\n  leolab netem clear r1:eth1",
		Args:    exactArgs(2),
		// Bad values are usage errors (exit 2), found before anything else.
		PreRunE: func(c *cobra.Command, args []string) error {
			if args[0] == "set" {
				var err error
				if impair, err = topology.ParseNetemFlags(flags); err != nil {
					return usageError{fmt.Errorf("netem set: %w", err)}
				}
			}
			return requireRoot(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			m := g.manager(c)
			switch args[0] {
			case "set":
				return m.SetNetem(lab, args[1], impair)
			case "clear":
				return m.SetNetem(lab, args[1], nil)
			case "show":
				n, err := m.ShowNetem(lab, args[1])
				if err != nil {
					return err
				}
				fmt.Fprintln(c.OutOrStdout(), render.Netem(n))
				return nil
			}
			return usageError{errors.New("netem: want set, show or clear")}
		},
	}
	f := c.Flags()
	f.StringVar(&lab, "lab", "", "lab of NODE")
	f.StringVar(&flags.Delay, "delay", "", "added delay, e.g. 20ms (at most 4m)")
	f.StringVar(&flags.Jitter, "jitter", "", "delay jitter, e.g. 2ms (needs --delay)")
	f.StringVar(&flags.Loss, "loss", "", "packet loss, e.g. 1% (0..100)")
	f.StringVar(&flags.Rate, "rate", "", "rate limit, e.g. 10mbit (8bit..1000tbit)")
	return c
}

func newLinkCmd(g *globals) *cobra.Command {
	var lab string
	c := &cobra.Command{
		Use:   "link (up|down) NODE:IFACE",
		Short: "Cut or restore one link, for failure experiments",
		Long: `Take a link down or bring it back up. For a point-to-point link both ends
change; for a bridge port, the bridge-side end of the node's veth.`,
		Example: "  leolab link down r1:eth1\n  leolab link up r1:eth1",
		Args:    exactArgs(2),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			switch args[0] {
			case "up", "down":
				return g.manager(c).SetLink(lab, args[1], args[0] == "up")
			}
			return usageError{errors.New("link: want up or down")}
		},
	}
	c.Flags().StringVar(&lab, "lab", "", "lab of NODE")
	return c
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
