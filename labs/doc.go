// Package labs is the orchestrator: it turns a topology.Plan into a running
// lab through rootfs, node and bridge, records what it created in a crash-safe
// state file, and destroys labs completely. It owns the layout of the leolab
// root directory (labs/<lab>/state.json, locks, node directories) and is the
// only library package that prints (progress and tables go to Manager.Out).
package labs
