// Command leolab-genman writes leolab's man pages into a directory (make man).
package main

import (
	"fmt"
	"os"

	"leolab/cmd"
	"leolab/internal/manpages"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: leolab-genman DIR")
		os.Exit(2)
	}
	if err := manpages.Generate(cmd.NewRoot(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "leolab-genman:", err)
		os.Exit(1)
	}
}
