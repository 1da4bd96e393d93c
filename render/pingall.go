package render

import (
	"fmt"
	"io"
	"strings"

	"leolab/labs/view"
)

// ANSI colours for PingMatrix; callers decide whether the output is a
// terminal that wants them (NO_COLOR).
const (
	colorRed   = "\x1b[31m"
	colorGreen = "\x1b[32m"
	colorReset = "\x1b[0m"
)

// PingMatrix writes a Mininet-style matrix and a loss summary, lost pings
// and a lossy summary in red and a clean one in green when color is set;
// it returns how many pings were lost. With IPv6 results, the IPv4 and
// IPv6 rows come under "IPv4:" and "IPv6:" lines.
func PingMatrix(w io.Writer, results []view.PingResult, color bool) int {
	any6 := false
	for _, r := range results {
		any6 = any6 || r.IPv6
	}
	paint := func(s, c string) string {
		if !color {
			return s
		}
		return c + s + colorReset
	}
	type rowKey struct {
		from string
		v6   bool
	}
	var order []rowKey
	seen := map[rowKey]bool{}
	row := map[rowKey][]string{}
	lost := 0
	for _, r := range results {
		k := rowKey{r.From, r.IPv6}
		if !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
		mark := r.To
		if !r.OK {
			mark = paint("X", colorRed)
			lost++
		}
		row[k] = append(row[k], mark)
	}
	for i, k := range order {
		if any6 && (i == 0 || order[i-1].v6 != k.v6) {
			fmt.Fprintln(w, map[bool]string{false: "IPv4:", true: "IPv6:"}[k.v6])
		}
		fmt.Fprintf(w, "%s -> %s\n", k.from, strings.Join(row[k], " "))
	}
	pct := 0.0
	if len(results) > 0 {
		pct = 100 * float64(lost) / float64(len(results))
	}
	summary := fmt.Sprintf("*** Results: %.0f%% dropped (%d/%d received)", pct, len(results)-lost, len(results))
	if lost > 0 {
		summary = paint(summary, colorRed)
	} else {
		summary = paint(summary, colorGreen)
	}
	fmt.Fprintln(w, summary)
	return lost
}
