package cmd

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"leolab/labs/view"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion (bash|zsh|fish)",
		Short: "Print a shell completion script",
		Long: `Print the completion script for bash, zsh or fish. Besides verbs and flags it
completes node names of running labs after exec, shell, trace and logs (NODE, or LAB/NODE when
a name is used by more than one lab), and lab names after --lab.`,
		Example: `  source <(leolab completion bash)                   # this shell only
  leolab completion bash > /etc/bash_completion.d/leolab
  leolab completion zsh > "${fpath[1]}/_leolab"
  leolab completion fish > ~/.config/fish/completions/leolab.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			root, out := c.Root(), c.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return usageError{fmt.Errorf("completion %q: want bash, zsh or fish", args[0])}
		},
	}
}

// addCompletion adds the completion verb and dynamic completion of node and
// lab names to the verbs that take them.
func addCompletion(root *cobra.Command, g *globals) {
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newCompletionCmd())
	for _, c := range root.Commands() {
		switch c.Name() {
		case "exec", "shell", "logs":
			c.ValidArgsFunction = completeNode(g)
		case "pingall":
			c.ValidArgsFunction = completeLab(g)
		case "trace":
			c.ValidArgsFunction = completeNodePair(g)
		}
		if c.Flags().Lookup("lab") != nil {
			_ = c.RegisterFlagCompletionFunc("lab", completeLab(g))
		}
	}
}

// completeNode offers node names of running labs for the first argument:
// a bare name when no other lab has it, LAB/NODE always. After the node,
// exec's command runs inside the node, so host files are not offered.
func completeNode(g *globals) cobra.CompletionFunc { return completeNodes(g, 1) }

// completeNodePair offers node names for trace's FROM and TO.
func completeNodePair(g *globals) cobra.CompletionFunc { return completeNodes(g, 2) }

// completeNodes offers node names for the first n arguments.
func completeNodes(g *globals, n int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		lab, _ := c.Flags().GetString("lab")
		return nodeNames(g, c, lab), cobra.ShellCompDirectiveNoFileComp
	}
}

func completeLab(g *globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if c.Flags().Changed("lab") || len(args) == 0 || c.Name() != "pingall" {
			return labNames(g, c), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// nodeNames reads the running labs' state; any error (not root, no labs)
// simply completes nothing.
func nodeNames(g *globals, c *cobra.Command, lab string) []string {
	views, err := g.manager(c).Inspect(nil)
	if err != nil {
		return nil
	}
	return nodeCandidates(views, lab)
}

// nodeCandidates is every LAB/NODE, plus NODE where no other lab has that
// name; with lab set, just that lab's node names.
func nodeCandidates(views []view.Lab, lab string) []string {
	count := map[string]int{}
	for _, v := range views {
		for _, n := range v.Nodes {
			count[n.Name]++
		}
	}
	var out []string
	for _, v := range views {
		if lab != "" && v.Name != lab {
			continue
		}
		for _, n := range v.Nodes {
			if lab != "" || count[n.Name] == 1 {
				out = append(out, n.Name)
			}
			if lab == "" {
				out = append(out, v.Name+"/"+n.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func labNames(g *globals, c *cobra.Command) []string {
	views, err := g.manager(c).Inspect(nil)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(views))
	for _, v := range views {
		out = append(out, v.Name)
	}
	return out
}
