package cmd

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"leolab/check"
	"leolab/labs"
	"leolab/labs/view"
	"leolab/render"
	"leolab/topology"
)

func newDeployCmd(g *globals) *cobra.Command {
	var opts labs.DeployOptions
	var runChecks bool
	var checkTimeout time.Duration
	c := &cobra.Command{
		Use:   "deploy FILE|DIR",
		Short: "Validate a topology and bring the whole lab up",
		Long: `Validate FILE, then bring the lab up in parallel: root filesystems, bridges,
nodes, links, routes, exec lines. On any failure, or on SIGINT/SIGTERM, everything
created so far is removed and the error names the node and the step. With
--check, the lab's checks (its checks: section) run once it is up, each retried
for up to --check-timeout; if any fails the deploy fails with exit status 1, but
the lab is left running for leolab check and leolab trace. FILE is a leolab or
containerlab topology; DIR (or DIR/lab.conf) is a Kathará lab.`,
		Example: "  leolab deploy labs/examples/two-lans.yaml\n  leolab deploy --rootfs busybox lab.clab.yml\n  leolab deploy --image 'quay.io/frrouting/frr:*=debian:bookworm+frr' frr01.clab.yml\n  leolab deploy --isolated --reconfigure topo.yaml\n  leolab deploy --check --check-timeout 2m ospf.yaml\n  leolab deploy --name student1 ospf-lab/\n  leolab deploy --host a campus.yaml",
		Args:    exactArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			// SIGINT/SIGTERM cancel the deploy, which then rolls back.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m := g.manager(c)
			m.Progress = c.ErrOrStderr()
			m.Live = isTerminal(m.Progress)
			v, err := m.Deploy(ctx, args[0], opts)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if g.quiet {
				out = io.Discard
			}
			render.LabTable(out, []view.Lab{v})
			if !runChecks {
				return nil
			}
			return deployChecks(ctx, m, v.Name, checkTimeout, out)
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.Reconfigure, "reconfigure", false, "destroy a running lab of the same name first")
	f.BoolVar(&opts.Isolated, "isolated", false, "keep the lab's bridges in a private namespace (no host access, no nat)")
	f.IntVar(&opts.MaxWorkers, "max-workers", labs.DefaultWorkers(), "parallel deploy workers")
	f.StringVar(&opts.Rootfs, "rootfs", "", "override every node's rootfs (e.g. busybox)")
	f.StringVar(&opts.Name, "name", "", "the lab's name, replacing the file's (run one file several times side by side)")
	f.BoolVar(&runChecks, "check", false, "run the lab's checks after bring-up; if one fails, fail (the lab stays up)")
	f.DurationVar(&checkTimeout, "check-timeout", 60*time.Second, "with --check: retry failing checks for this long")
	f.StringVar(&opts.Host, "host", "", "bring up this host's share of a lab across hosts (the file's hosts:)")
	f.Var(imageFlag{&opts.Images}, "image", "map registry images to a rootfs, PATTERN=ROOTFS (repeatable; PATTERN may end in *)")
	return c
}

// deployChecks runs a freshly deployed lab's checks (deploy --check) and
// prints their table to out; the lab stays up whatever they find, but a
// failed check fails the deploy.
func deployChecks(ctx context.Context, m *labs.Manager, lab string, timeout time.Duration, out io.Writer) error {
	results, err := m.CheckDeployed(ctx, lab, timeout)
	if results != nil {
		if werr := check.WriteTable(out, results); werr != nil {
			return werr
		}
	}
	return err
}

// imageFlag collects deploy --image PATTERN=ROOTFS, checking each as it comes.
type imageFlag struct{ maps *[]topology.ImageMap }

func (f imageFlag) Type() string { return "PATTERN=ROOTFS" }

func (f imageFlag) String() string {
	var s []string
	for _, m := range *f.maps {
		s = append(s, m.Pattern+"="+m.Rootfs)
	}
	return strings.Join(s, ",")
}

func (f imageFlag) Set(s string) error {
	m, err := topology.ParseImageFlag(s)
	if err != nil {
		return err
	}
	*f.maps = append(*f.maps, m)
	return nil
}
