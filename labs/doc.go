// Package labs is the orchestrator: it turns a topology.Plan into a running
// lab through rootfs, node and bridge, records what it created in a crash-safe
// state file, and destroys labs completely. It owns what it keeps in the
// leolab root (state files, lab locks, the host's claims); the layout of
// the root's directories (labs/<lab>, node directories) is
// internal/labdir's. It is the only library package that prints (progress
// and tables go to Manager.Out).
package labs
