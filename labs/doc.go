// Package labs is the orchestrator: it turns a topology.Plan into a running
// lab through rootfs, node and bridge, records what it created in a crash-safe
// state file, changes a running lab into another plan (apply: the reconciler
// runs a topology.Diff as ordered, idempotent steps, starting nodes with the
// deploy engine's own steps), and destroys labs completely. It owns the layout of the leolab
// root directory (labs/<lab>/state.json, locks, node directories). It returns
// what it finds as data (package labs/view: inspect views, list entries,
// ping results) and prints only progress (to Manager.Progress); the tables
// and JSON of the CLI are package render's.
package labs
