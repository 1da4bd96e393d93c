// Package manpages writes leolab's man pages (section 1) from the cobra
// command tree, so they cannot drift from --help. It lives outside the
// leolab binary (run by make man) so the CLI does not link the markdown and
// roff renderers.
package manpages

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Generate writes one page per visible command of root into dir.
func Generate(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create man directory: %w", err)
	}
	root.DisableAutoGenTag = true // no date: regenerating leaves unchanged pages unchanged
	// No Title: each page gets its own command path as its title
	// (LEOLAB-DEPLOY for leolab-deploy.1), not the root's.
	header := &doc.GenManHeader{Section: "1", Source: "leolab", Manual: "leolab manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("generate man pages: %w", err)
	}
	return nil
}
