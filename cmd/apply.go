package cmd

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"leolab/labs"
	"leolab/render"
	"leolab/topology"
)

func newApplyCmd(g *globals) *cobra.Command {
	var opts labs.ApplyOptions
	var format string
	c := &cobra.Command{
		Use:   "apply FILE",
		Short: "Change a running lab into its edited topology file, touching nothing else",
		Long: `Compare FILE with the running lab of the same name and print the difference,
one change a line ("+ node h3", "- link r1:eth2 <-> r3:eth1",
"~ netem r1:eth1 delay 10ms → 20ms", "~ node r2 recreated: rootfs changed"),
then make exactly that change: bridges, nodes, bridge ports and links are added
and removed; netem, routes, gateways, MTUs and sysctls change in place; a node is
recreated only when what it was started with changed (rootfs, cmd, env, exec,
binds, limits, namespaces, capabilities), and its links and ports come back with
the same names and addresses. Everything else keeps running untouched.

Addresses are sticky: an interface keeps its address across applies even when
nodes are inserted earlier in the file; new interfaces get free addresses; an
address written in the file wins.

A lab that is not running is deployed. A failed change is rolled back; an apply
that was killed is finished by the next apply, or removed by destroy.
With --dry-run the difference is printed and nothing changes.`,
		Example: "  leolab apply lab.yaml\n  leolab apply --dry-run lab.yaml\n  leolab apply --format json --dry-run lab.yaml",
		Args:    exactArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m := g.manager(c)
			m.Progress = c.ErrOrStderr()
			m.Live = isTerminal(m.Progress)
			out := c.OutOrStdout()
			opts.Show = func(lab string, d *topology.Diff) {
				if format == "json" {
					render.DiffJSON(out, lab, d)
					return
				}
				if !g.quiet {
					render.Diff(out, d)
				}
			}
			return m.Apply(ctx, args[0], opts)
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the difference and change nothing")
	f.StringVar(&format, "format", "text", "how the difference is printed: text or json")
	f.IntVar(&opts.MaxWorkers, "max-workers", labs.DefaultWorkers(), "parallel workers")
	f.BoolVar(&opts.Isolated, "isolated", false, "for a lab that is not running: deploy it isolated, as deploy --isolated (a running lab keeps its own)")
	f.StringVar(&opts.Rootfs, "rootfs", "", "override every node's rootfs (e.g. busybox), as deploy --rootfs")
	f.StringVar(&opts.Name, "name", "", "the lab's name, replacing the file's")
	f.Var(imageFlag{&opts.Images}, "image", "map registry images to a rootfs, PATTERN=ROOTFS (repeatable)")
	return c
}
