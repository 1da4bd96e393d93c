package topology

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one violation of the topology rules, located in the file. Line
// and Col are 1-based; both are 0 for violations that have no place in the
// file (its size, a --rootfs override).
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every violation found in one file, sorted by line and column.
type Errors []*Error

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// MaxErrors is how many violations are listed; the rest are counted.
const MaxErrors = 200

// sorted orders errs by position, drops exact duplicates (a mistake in
// defaults is found once per node that inherits it) and keeps MaxErrors.
func (e Errors) sorted() Errors {
	sort.SliceStable(e, func(i, j int) bool {
		if e[i].Line != e[j].Line {
			return e[i].Line < e[j].Line
		}
		return e[i].Col < e[j].Col
	})
	out := e[:0]
	seen := map[Error]bool{}
	for _, err := range e {
		if !seen[*err] {
			seen[*err] = true
			out = append(out, err)
		}
	}
	if len(out) > MaxErrors {
		more := &Error{File: out[0].File, Msg: fmt.Sprintf("and %d more errors", len(out)-MaxErrors)}
		out = append(out[:MaxErrors], more)
	}
	return out
}
