package node

import (
	"os"
	"path/filepath"
	"strconv"

	"leolab/internal/hostnames"
)

// Init is a node init running on the host, as found in /proc.
type Init struct {
	PID       int
	Lab, Node string
}

// FindInits lists every leolab node init on the host, found by the argv it
// runs with (hostnames.InitArgv), whichever root started it. An unreadable
// /proc lists none.
func FindInits() []Init {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Init
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if lab, node, ok := hostnames.ParseInitCmdline(cmdline); ok {
			out = append(out, Init{PID: pid, Lab: lab, Node: node})
		}
	}
	return out
}
