// Package cmd holds leolab's command line: one file per verb, each building a
// cobra.Command and handing off to the labs package. No lab logic lives here.
package cmd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"leolab/labs"
	"leolab/topology"
)

// globals holds the persistent flags shared by every verb.
type globals struct {
	root            string
	logLevel        string
	quiet           bool
	maxImageBytes   int64
	maxImageEntries int
}

// usageError marks bad usage: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// checkFormat returns a usage error unless format is one of want (two or
// more): `--format "x": want a, b or c`.
func checkFormat(format string, want ...string) error {
	if slices.Contains(want, format) {
		return nil
	}
	last := len(want) - 1
	return usageError{fmt.Errorf("--format %q: want %s or %s", format, strings.Join(want[:last], ", "), want[last])}
}

// exitError carries a command's own exit status (exec) without a message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Execute runs the CLI with args and returns the process exit status:
// 0 success, 1 failure, 2 bad usage or invalid topology (SPEC §4).
func Execute(args []string) int {
	g := &globals{}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.Execute()
	return exitStatus(err, os.Stderr)
}

// NewRoot builds the whole command tree with default flags, for tools that
// render it (make man).
func NewRoot() *cobra.Command { return newRoot(&globals{}) }

func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var topoErrs topology.Errors
	if errors.As(err, &topoErrs) {
		fmt.Fprintln(stderr, topoErrs.Error())
		return 2
	}
	fmt.Fprintf(stderr, "leolab: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "leolab",
		Short: "Network labs of isolated Linux nodes on one host, without Docker",
		Long: `leolab deploys network labs from a topology file: every node is a process tree in
its own namespaces with its own root filesystem, wired with veth pairs to Linux
bridges or straight to other nodes.`,
		Example: `  leolab deploy labs/examples/two-lans.yaml
  leolab exec a1 -- ping -c 3 b1
  leolab pingall two-lans
  leolab destroy --lab two-lans`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			return setupLogging(g)
		},
	}
	def := os.Getenv("LEOLAB_ROOT")
	if def == "" {
		def = labs.DefaultRoot
	}
	root.PersistentFlags().StringVar(&g.root, "root", def, "data and state directory (env LEOLAB_ROOT)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level on stderr: debug (also each deploy and destroy step), info, warn, error")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print nothing but errors and requested output")
	root.PersistentFlags().Var(&byteSize{&g.maxImageBytes}, "max-image-size", "cap on one unpacked image, e.g. 8G (default 8G)")
	root.PersistentFlags().IntVar(&g.maxImageEntries, "max-image-entries", 0, "cap on the entries of one unpacked image (default 1048576)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newValidateCmd(g), newGraphCmd(g), newDeployCmd(g), newApplyCmd(g), newDestroyCmd(g),
		newInspectCmd(g), newListCmd(g), newExecCmd(g), newShellCmd(g),
		newNetemCmd(g), newLinkCmd(g), newImageCmd(g), newPingallCmd(g),
		newCheckCmd(g), newTraceCmd(g), newCaptureCmd(g), newLogsCmd(g), newUICmd(g),
	)
	addCompletion(root, g)
	return root
}

func setupLogging(g *globals) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: %w", g.logLevel, err)}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	return nil
}

// manager builds the labs.Manager for a verb from the global flags.
func (g *globals) manager(c *cobra.Command) *labs.Manager {
	return &labs.Manager{Root: g.root, Quiet: g.quiet,
		MaxImageBytes: g.maxImageBytes, MaxImageEntries: g.maxImageEntries}
}

// exactArgs is cobra.ExactArgs reporting a usage error (exit 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(c, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// requireRoot refuses verbs that change the host when not run as root.
func requireRoot(*cobra.Command, []string) error {
	if os.Geteuid() != 0 {
		return errors.New("this command needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN)")
	}
	return nil
}
