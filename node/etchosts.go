package node

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// EditEtcHosts changes /etc/hosts inside the running node whose init is
// pid, from the host, through /proc/PID/root: lines in gone are taken out
// (the file is then rewritten) and lines in added appended. Every path
// component is opened without following symlinks, relative to the node's
// root, so a node cannot turn this write onto a host file.
func EditEtcHosts(pid int, gone map[string]bool, added []string) error {
	flags := unix.O_WRONLY | unix.O_APPEND
	if len(gone) > 0 {
		flags = unix.O_RDWR
	}
	f, err := openEtcHosts(pid, flags)
	if err != nil {
		return fmt.Errorf("update /etc/hosts: %w", err)
	}
	defer f.Close()
	var out bytes.Buffer
	if len(gone) > 0 {
		old, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("update /etc/hosts: %w", err)
		}
		for _, line := range bytes.SplitAfter(old, []byte("\n")) {
			if !gone[string(bytes.TrimSuffix(line, []byte("\n")))] {
				out.Write(line)
			}
		}
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("update /etc/hosts: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("update /etc/hosts: %w", err)
		}
	}
	for _, l := range added {
		out.WriteString(l + "\n")
	}
	if _, err := f.Write(out.Bytes()); err != nil {
		return fmt.Errorf("update /etc/hosts: %w", err)
	}
	return nil
}

// WriteEtcHosts replaces /etc/hosts inside the running node whose init is
// pid with data, as EditEtcHosts reaches it.
func WriteEtcHosts(pid int, data []byte) error {
	f, err := openEtcHosts(pid, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		return fmt.Errorf("update /etc/hosts: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("update /etc/hosts: %w", err)
	}
	return nil
}

// openEtcHosts opens the node's /etc/hosts with flags, one component at a
// time from /proc/PID/root, never following a symlink.
func openEtcHosts(pid, flags int) (*os.File, error) {
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the node's root: %w", err)
	}
	defer unix.Close(root)
	etc, err := unix.Openat(root, "etc", unix.O_DIRECTORY|unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /etc: %w", err)
	}
	defer unix.Close(etc)
	fd, err := unix.Openat(etc, "hosts", flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/etc/hosts"), nil
}
