package cmd

import (
	"io"
	"os"

	"golang.org/x/term"
)

// useColor reports whether output to w may be coloured: w is a terminal,
// NO_COLOR (https://no-color.org) is unset or empty, and TERM is not dumb.
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal that understands cursor
// control (so a live progress line can be rewritten in place).
func isTerminal(w io.Writer) bool {
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
