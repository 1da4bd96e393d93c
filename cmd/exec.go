package cmd

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"leolab/internal/quickexec"
	"leolab/node"
)

func newExecCmd(g *globals) *cobra.Command {
	var lab string
	var interactive, tty bool
	c := &cobra.Command{
		Use:   "exec [--lab NAME] NODE [-i] [-t] [--] CMD [ARG...]",
		Short: "Run a command inside a node",
		Long: `Run CMD inside all of NODE's namespaces and its root filesystem, as a child of
the node's init. stdin/stdout/stderr pass through; -t allocates a terminal in the
node. The exit status is CMD's (126: cannot run, 127: not found). NODE may be
LAB/NODE; a bare node name must be unambiguous among running labs.`,
		Example: "  leolab exec h1 -- ping -c 3 h2\n  leolab exec routing/r1 ip route\n  leolab exec -it h1 -- /bin/sh",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{errorf("exec needs NODE and CMD")}
			}
			return nil
		},
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			// Flags stop at NODE; -i and -t may follow it (SPEC §4).
			i, t, argv := quickexec.AfterNode(args[1:])
			if len(argv) == 0 {
				return usageError{errorf("exec needs a command after NODE")}
			}
			if argv[0] == "" {
				return usageError{errorf("exec: the command name is empty")}
			}
			return runExec(c, g, lab, args[0], argv, interactive || i, tty || t)
		},
	}
	c.Flags().SetInterspersed(false)
	c.Flags().StringVar(&lab, "lab", "", "lab of NODE")
	c.Flags().BoolVarP(&interactive, "interactive", "i", false, "pass stdin to the command")
	c.Flags().BoolVarP(&tty, "tty", "t", false, "allocate a terminal inside the node")
	return c
}

func newShellCmd(g *globals) *cobra.Command {
	var lab string
	return &cobra.Command{
		Use:     "shell NODE",
		Short:   "Interactive shell in a node (exec -it NODE -- /bin/sh)",
		Example: "  leolab shell r1",
		Args:    exactArgs(1),
		PreRunE: requireRoot,
		RunE: func(c *cobra.Command, args []string) error {
			return runExec(c, g, lab, args[0], []string{"/bin/sh", "-l"}, true, true)
		},
	}
}

func runExec(c *cobra.Command, g *globals, lab, target string, argv []string, interactive, tty bool) error {
	opts := node.ExecOptions{Argv: argv, Tty: tty, Stdout: os.Stdout, Stderr: os.Stderr}
	if interactive || tty {
		opts.Stdin = os.Stdin
	}
	code, err := g.manager(c).Exec(context.Background(), lab, target, opts)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}
