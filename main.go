// Command leolab builds network labs of isolated Linux nodes on one host.
package main

import (
	"os"

	"leolab/cmd"
	// exec's fast path: runs from its package initialiser, before the
	// CLI's dependencies initialise (see the package).
	_ "leolab/internal/quickexec"
	"leolab/node"
)

func main() {
	// A node's init is this same binary re-executed with a reserved argv[0];
	// it must take over before any CLI code runs.
	node.MaybeRunInit()
	os.Exit(cmd.Execute(os.Args[1:]))
}
