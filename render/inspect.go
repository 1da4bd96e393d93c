package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"leolab/labs/view"
)

// LabsJSON writes labs as SPEC §4 JSON (inspect --format json, list
// --format json): one object for one lab unless array, else an array
// (empty, never null, when there are none).
func LabsJSON(w io.Writer, labs []view.Lab, array bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if !array && len(labs) == 1 {
		return enc.Encode(labs[0])
	}
	if labs == nil {
		labs = []view.Lab{}
	}
	return enc.Encode(labs)
}

// LabTable writes the human inspect table (also deploy's closing table):
// one row per node.
func LabTable(w io.Writer, labs []view.Lab) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tNODE\tSTATE\tPID\tINTERFACES\tROOTFS")
	for _, v := range labs {
		for _, n := range v.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, n.Name, n.State, n.Pid, interfacesCell(n), n.Rootfs)
		}
	}
	tw.Flush()
}

// interfacesCell is a node's interfaces as "eth0=ADDR(BRIDGE or PEER)",
// space-separated, or "-".
func interfacesCell(n view.Node) string {
	var parts []string
	for _, ifc := range n.Interfaces {
		where := ifc.Bridge
		if where == "" {
			where = ifc.Peer
		}
		addr := ifc.IPv4
		if addr == "" {
			addr = "-"
		}
		if ifc.IPv6 != "" {
			addr += "," + ifc.IPv6
		}
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", ifc.Name, addr, where))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
