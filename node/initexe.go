package node

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"leolab/internal/initbin"
)

// initExe is the program every node's init is started from: the embedded
// init in a sealed memfd when this binary carries one, else this binary.
var initExe = sync.OnceValues(func() (string, error) {
	bin := initbin.Binary()
	if len(bin) == 0 {
		return "/proc/self/exe", nil
	}
	fd, err := sealedMemfd("leolab-init", bin)
	if err != nil {
		return "", err
	}
	// The fd stays open for the life of this process (no *os.File owns
	// it); children exec it by path before close-on-exec drops it.
	return fmt.Sprintf("/proc/self/fd/%d", fd), nil
})

// sealedMemfd copies data into an anonymous file and seals it against every
// change, so no node can ever rewrite the program the next node runs.
func sealedMemfd(name string, data []byte) (int, error) {
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
