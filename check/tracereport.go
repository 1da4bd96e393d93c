package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTraceJSON prints a trace as JSON: {ok, forward: {hops: [{node,
// iface, via, route}], failure: {node, reason, detail}}, reverse: {…},
// ping, verdict}.
func WriteTraceJSON(w io.Writer, tr *Trace) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(tr)
}

// WriteTrace prints a trace for people: each direction hop by hop with the
// route taken, where it stops and why, the ping, and the verdict.
func WriteTrace(w io.Writer, tr *Trace) error {
	var b strings.Builder
	writePath(&b, "forward", &tr.Forward)
	if tr.Reverse != nil {
		writePath(&b, "reverse", tr.Reverse)
	} else {
		fmt.Fprintf(&b, "reverse: not traced (%s is no lab node's address)\n", tr.Forward.Dst)
	}
	if tr.Ping {
		b.WriteString("ping: reply\n")
	} else {
		fmt.Fprintf(&b, "ping: %s\n", tr.PingDetail)
	}
	if tr.Verdict == nil {
		b.WriteString("verdict: ok\n")
	} else {
		fmt.Fprintf(&b, "verdict: %s at %s: %s\n", tr.Verdict.Reason, tr.Verdict.Node, tr.Verdict.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writePath(b *strings.Builder, dir string, p *Path) {
	src := ""
	if p.Src != "" {
		src = " (" + p.Src + ")"
	}
	fmt.Fprintf(b, "%s: %s%s -> %s\n", dir, p.From, src, p.Dst)
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	for i, h := range p.Hops {
		last := i == len(p.Hops)-1
		switch {
		case h.Iface != "":
			fmt.Fprintf(tw, "  %s\tout %s via %s\t%s\n", h.Node, h.Iface, h.Via, h.Route)
		case last && p.Failure == nil:
			fmt.Fprintf(tw, "  %s\tarrived\t\n", h.Node)
		default:
			fmt.Fprintf(tw, "  %s\t\t\n", h.Node)
		}
	}
	tw.Flush()
	switch {
	case p.Failure != nil:
		fmt.Fprintf(b, "  stops at %s: %s: %s\n", p.Failure.Node, p.Failure.Reason, p.Failure.Detail)
	case p.Exit != "":
		b.WriteString("  leaves the lab through the host\n")
	}
}
