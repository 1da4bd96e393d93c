// Package memfd owns the sealed in-memory files leolab runs its embedded
// helper programs from (the node init, the image fetcher): a program copied
// into one can be executed by path but never rewritten.
package memfd

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Sealed copies data into an anonymous file and seals it against every
// change, so no program started from it (a node, the fetcher) can rewrite
// what the next one runs.
func Sealed(name string, data []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd for %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return -1, fmt.Errorf("write %s: %w", name, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return -1, fmt.Errorf("seal %s: %w", name, err)
	}
	// Move it far above the fds a child gets (0-2 and its ExtraFiles from
	// 3 up), which the child sets up before it execs this path.
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 100)
	f.Close()
	if err != nil {
		return -1, fmt.Errorf("move %s: %w", name, err)
	}
	return high, nil
}

// Executable is Sealed for a program: it returns the path its children
// exec it by (valid while fd stays open, i.e. for the life of this
// process: no *os.File owns it) and the fd.
func Executable(name string, program []byte) (path string, fd int, err error) {
	fd, err = Sealed(name, program)
	if err != nil {
		return "", -1, err
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), fd, nil
}
