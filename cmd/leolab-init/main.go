// Command leolab-init is the small program that runs as PID 1 of every
// node. make build compiles it first and embeds it in leolab, which runs it
// from a sealed in-memory file: a node's init then starts without the
// CLI's dependencies (their package initialisers cost every node time and
// memory), and /proc/1/exe inside a node is that sealed copy, never the
// host's leolab binary.
package main

import (
	"fmt"
	"os"

	"leolab/node"
)

func main() {
	node.MaybeRunInit() // does not return when started by leolab
	fmt.Fprintln(os.Stderr, "leolab-init: run by leolab only, as a node's PID 1")
	os.Exit(2)
}
