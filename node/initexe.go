package node

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"leolab/internal/embedded/initbin"
	"leolab/internal/embedded/memfd"
	"leolab/internal/hostnames"
)

// initExe is the program every node's init is started from: the embedded
// init in a sealed memfd when this binary carries one, else this binary.
var initExe = sync.OnceValues(func() (string, error) {
	bin := initbin.Binary()
	if len(bin) == 0 {
		return "/proc/self/exe", nil
	}
	path, fd, err := memfd.Executable(hostnames.InitArg0, bin)
	if err != nil {
		return "", err
	}
	if err := unix.Fstat(fd, &initExeStat); err != nil {
		return "", fmt.Errorf("fstat sealed init: %w", err)
	}
	initExeFd = fd
	return path, nil
})

// initExeFd and initExeStat identify the sealed init program (fd -1: none).
var (
	initExeFd   = -1
	initExeStat unix.Stat_t
)

// checkInitExe says whether the init program's fd still holds the sealed
// file made for it. Starting an init failed once in a benchmark with
// "permission denied" on exec of that path, which this tells apart from a
// transient failure: if the fd now names another file, something in this
// process closed it, and exec'ing it again must not be tried.
func checkInitExe() error {
	if initExeFd < 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(initExeFd, &st); err != nil || st.Dev != initExeStat.Dev || st.Ino != initExeStat.Ino {
		target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", initExeFd))
		return fmt.Errorf("the init program's fd %d no longer holds it (now %q): it was closed by mistake", initExeFd, target)
	}
	return nil
}
