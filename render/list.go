package render

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"leolab/labs/view"
)

// ListTable writes `leolab list`: one lab a line, its start in local time.
func ListTable(w io.Writer, entries []view.ListEntry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tNODES\tRUNNING\tSINCE\tISOLATED\tPHASE")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%v\t%s\n", e.Name, e.Nodes, e.Running,
			e.Since.Local().Format(time.DateTime), e.Isolated, e.Phase)
	}
	tw.Flush()
}
