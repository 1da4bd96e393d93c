package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenManCmd is the hidden verb behind `make man`: one man page per verb,
// generated from the same cobra commands as --help, so they cannot drift.
func newGenManCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "gen-man DIR",
		Short:   "Write leolab's man pages (section 1) into DIR",
		Example: "  leolab gen-man docs/man\n  man -l docs/man/leolab-deploy.1",
		Hidden:  true,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return fmt.Errorf("create man directory: %w", err)
			}
			root := c.Root()
			root.DisableAutoGenTag = true // no date: regenerating leaves unchanged pages unchanged
			header := &doc.GenManHeader{Title: "LEOLAB", Section: "1", Source: "leolab", Manual: "leolab manual"}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return fmt.Errorf("generate man pages: %w", err)
			}
			return nil
		},
	}
}
