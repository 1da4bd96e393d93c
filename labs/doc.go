// Package labs is the orchestrator: it turns a topology.Plan into a running
// lab through rootfs, node and bridge, records what it created in a crash-safe
// state file, changes a running lab into another plan (apply: the reconciler
// runs a topology.Diff as ordered, idempotent steps, starting nodes with the
// deploy engine's own steps), and destroys labs completely. It keeps in the
// leolab root its state files, lab locks and the host's claims, at the paths
// internal/hostnames names. It returns what it finds as data (package
// labs/view: inspect views, list entries, ping results) and prints only
// progress (to Manager.Progress); the tables and JSON of the CLI are package
// render's.
//
// The deploy engine (engine.go) runs ordered steps over a plan, or over
// the part of one being added to a running lab; it and teardown reach the
// kernel and the image cache only through the interfaces in seams.go.
package labs
