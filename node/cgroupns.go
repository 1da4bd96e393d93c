package node

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// rootCgroupns gives the node a cgroup namespace rooted at the node's own
// cgroups. The one made when init was cloned is rooted where the deploying
// process was, since the parent moves init into the node's cgroups only
// after the clone: there /proc/1/cgroup reads "/../../leolab/LAB/NODE".
// Now that init is inside (the parent joins it before sending the config),
// one thread unshares a new namespace, and every thread of init joins that
// one, so whichever thread forks a node process passes it on.
func rootCgroupns() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("unshare cgroup namespace: %w", err)
	}
	fd, err := unix.Open("/proc/thread-self/ns/cgroup", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open new cgroup namespace: %w", err)
	}
	defer unix.Close(fd)
	if err := allThreads(unix.SYS_SETNS, uintptr(fd), unix.CLONE_NEWCGROUP, 0); err != nil {
		return fmt.Errorf("join new cgroup namespace: %w", err)
	}
	return nil
}
