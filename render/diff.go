package render

import (
	"encoding/json"
	"fmt"
	"io"

	"leolab/topology"
)

// Diff prints the difference apply makes, one change a line:
// "+ node h3", "- link r1:eth2 <-> r3:eth1", "~ netem r1:eth1 delay 10ms → 20ms",
// "~ node r2 recreated: rootfs changed". Nothing is printed for no change.
func Diff(w io.Writer, d *topology.Diff) {
	for _, c := range d.Changes {
		fmt.Fprintln(w, c.String())
	}
}

// DiffJSON prints the difference as {"lab", "changes":[{"op","what","name","detail"}]}.
func DiffJSON(w io.Writer, lab string, d *topology.Diff) error {
	changes := d.Changes
	if changes == nil {
		changes = []topology.Change{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Lab     string            `json:"lab"`
		Changes []topology.Change `json:"changes"`
	}{lab, changes})
}
