package node

import (
	"fmt"
	"sync"

	"leolab/internal/initbin"
	"leolab/internal/memfd"
)

// initExe is the program every node's init is started from: the embedded
// init in a sealed memfd when this binary carries one, else this binary.
var initExe = sync.OnceValues(func() (string, error) {
	bin := initbin.Binary()
	if len(bin) == 0 {
		return "/proc/self/exe", nil
	}
	fd, err := memfd.Sealed("leolab-init", bin)
	if err != nil {
		return "", err
	}
	// The fd stays open for the life of this process (no *os.File owns
	// it); children exec it by path before close-on-exec drops it.
	return fmt.Sprintf("/proc/self/fd/%d", fd), nil
})
