package cmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"leolab/labs"
)

func newNetemCmd(g *globals) *cobra.Command {
	var lab string
	var delay, jitter time.Duration
	var loss, rate string
	c := &cobra.Command{
		Use:   "netem (set|show|clear) NODE:IFACE",
		Short: "Change link impairments (delay, jitter, loss, rate) on a running lab",
		Long: `Set, show or clear netem impairments on one node interface of a running lab.
On a point-to-point link both ends are changed; on a bridge port both the node
end and the bridge-side end, so the impairment applies in both directions.`,
		Example: "  leolab netem set r1:eth1 --delay 50ms --jitter 5ms --loss 1%\n  leolab netem show r1:eth1\n  leolab netem clear r1:eth1",
		Args:    exactArgs(2),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			m := g.manager(c)
			switch args[0] {
			case "set":
				n, err := labs.NetemFromFlags(delay, jitter, loss, rate)
				if err != nil {
					return usageError{err}
				}
				return m.SetNetem(lab, args[1], n)
			case "clear":
				return m.SetNetem(lab, args[1], nil)
			case "show":
				n, err := m.ShowNetem(lab, args[1])
				if err != nil {
					return err
				}
				fmt.Fprintln(c.OutOrStdout(), labs.FormatNetem(n))
				return nil
			}
			return usageError{errors.New("netem: want set, show or clear")}
		},
	}
	f := c.Flags()
	f.StringVar(&lab, "lab", "", "lab of NODE")
	f.DurationVar(&delay, "delay", 0, "added delay, e.g. 20ms")
	f.DurationVar(&jitter, "jitter", 0, "delay jitter, e.g. 2ms")
	f.StringVar(&loss, "loss", "", "packet loss, e.g. 1%")
	f.StringVar(&rate, "rate", "", "rate limit, e.g. 10mbit")
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
