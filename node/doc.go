// Package node owns the kernel side of one lab node: it spawns leolab's own
// init (the small cmd/leolab-init program embedded in leolab and run from a
// sealed memfd, internal/embedded; a build without it re-executes itself)
// as PID 1 in fresh UTS, PID, mount,
// network, IPC and cgroup namespaces (plus a user namespace on request),
// builds and pivots into the node's root, hardens it, runs the node's cmd,
// serves exec requests over a unix socket, and manages the node's cgroup.
//
// It never touches the node's network configuration (the caller wires
// interfaces into NetnsPath between Start and Release), never prepares root
// filesystem images (rootfs does; this package only performs the mounts it is
// given, inside the node's private mount namespace) and never prints.
//
// Privileged nodes skip the capability drop and the /proc masks: a privileged
// node is not a security boundary. Others keep Docker's default capabilities
// plus NET_ADMIN, changed by Spec.Caps; one that keeps CAP_SYS_ADMIN (a
// router: FRR's daemons ask for it) also gets a seccomp filter denying the
// calls through which that capability reaches the host (seccomp.go). A
// node's cmd writes into a pipe init copies to a bounded console log.
package node
