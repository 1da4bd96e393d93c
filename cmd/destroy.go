package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"leolab/labs"
	"leolab/topology"
)

func newDestroyCmd(g *globals) *cobra.Command {
	var lab string
	var all, cleanup bool
	var host string
	c := &cobra.Command{
		Use:   "destroy [FILE | --lab NAME | --all]",
		Short: "Remove everything a lab created",
		Long: `Stop every node and remove every link, bridge, namespace, mount, cgroup,
iptables rule and state file of the lab. Idempotent: destroying a lab that is not
there succeeds (and says so on stderr). Works when the topology file was deleted or edited, and after
leolab itself was killed during a deploy. --all --cleanup also sweeps orphans that
no state file mentions.`,
		Example: "  leolab destroy topo.yaml\n  leolab destroy --lab routing\n  leolab destroy --all --cleanup\n  leolab destroy --host b campus.yaml",
		Args:    cobra.MaximumNArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			m := g.manager(c)
			if host != "" && all {
				return usageError{errors.New("--host goes with FILE or --lab, not --all")}
			}
			if host != "" {
				name := lab
				if name == "" && len(args) == 1 {
					name, _ = labNameOfFile(args[0])
				}
				if err := m.CheckShare(name, host); err != nil {
					return err
				}
			}
			switch {
			case all:
				return m.DestroyAll(cleanup)
			case lab != "" && len(args) == 0:
				return destroyOne(c, g, m, lab)
			case lab == "" && len(args) == 1:
				name, err := labNameOfFile(args[0])
				if err != nil {
					return err
				}
				return destroyOne(c, g, m, name)
			}
			return usageError{errors.New("give exactly one of FILE, --lab NAME or --all")}
		},
	}
	c.Flags().StringVar(&lab, "lab", "", "lab name")
	c.Flags().BoolVar(&all, "all", false, "destroy every lab")
	c.Flags().StringVar(&host, "host", "", "a lab across hosts: the host whose share this is (checked against what was deployed here)")
	c.Flags().BoolVar(&cleanup, "cleanup", false, "with --all: also sweep orphaned leolab resources")
	return c
}

// destroyOne destroys lab; a lab that is not there is success (scripts
// destroy idempotently), said on stderr so that a typo does not go unseen.
func destroyOne(c *cobra.Command, g *globals, m *labs.Manager, lab string) error {
	err := m.Destroy(lab)
	if errors.Is(err, labs.ErrNoSuchLab) {
		if !g.quiet {
			fmt.Fprintf(c.ErrOrStderr(), "leolab: %v\n", err)
		}
		return nil
	}
	return err
}

// labNameOfFile reads the lab name of a topology file, even an edited one
// that no longer validates, as long as its name is readable.
func labNameOfFile(file string) (string, error) {
	data, err := topology.ReadFile(file)
	if err != nil {
		return "", err
	}
	dec, err := topology.Decode(file, data, topology.Options{})
	if err == nil {
		return dec.Name(), nil
	}
	if name := labs.PeekName(data); name != "" {
		return name, nil
	}
	return "", err
}
