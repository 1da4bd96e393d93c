//go:build linux

package capture

import "golang.org/x/sys/unix"

func bindMount(src, dst string) error { return unix.Mount(src, dst, "", unix.MS_BIND, "") }

func unmount(p string) error { return unix.Unmount(p, unix.MNT_DETACH) }
