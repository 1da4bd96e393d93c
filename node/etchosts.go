package node

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// WriteEtcHosts replaces the contents of /etc/hosts inside the running node
// whose init is pid, from the host, through /proc/PID/root. Every path
// component is opened without following symlinks, relative to the node's
// root, so a node cannot turn this write onto a host file.
func WriteEtcHosts(pid int, data []byte) error {
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("update /etc/hosts: open the node's root: %w", err)
	}
	defer unix.Close(root)
	etc, err := unix.Openat(root, "etc", unix.O_DIRECTORY|unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("update /etc/hosts: open /etc: %w", err)
	}
	defer unix.Close(etc)
	fd, err := unix.Openat(etc, "hosts", unix.O_WRONLY|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("update /etc/hosts: %w", err)
	}
	defer unix.Close(fd)
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err != nil {
			return fmt.Errorf("update /etc/hosts: %w", err)
		}
		data = data[n:]
	}
	return nil
}
