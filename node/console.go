package node

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ConsoleLog and ConsoleLogOld are the node's main process output (and its
// init's messages) in the node's state dir: the current file and the one
// before it. Together they hold at most 2 × ConsoleMax bytes.
const (
	ConsoleLog    = "console.log"
	ConsoleLogOld = "console.log.1"
	ConsoleMax    = 1 << 20
)

// console keeps a node's console log bounded: cmd writes into a pipe that
// init copies to console.log; whenever it reaches ConsoleMax, its contents
// move to console.log.1 and console.log starts again empty. Init holds two
// file descriptors for that, both opened before the pivot: the log read
// back and console.log.1 — never a descriptor of a host directory.
type console struct {
	cur  int // console.log, for reading back (init's stdout writes it); -1 if unreachable
	old  int // console.log.1; -1 if unreachable
	size int64
}

// openConsole opens the two files while the host is still visible. A user
// namespace init may not reach them: its log is then cut at ConsoleMax.
func openConsole(stateDir string) *console {
	c := &console{cur: -1, old: -1}
	cur, err := unix.Open(filepath.Join(stateDir, ConsoleLog), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err == nil {
		old, err := unix.Open(filepath.Join(stateDir, ConsoleLogOld), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err == nil {
			c.cur, c.old = cur, old
		} else {
			unix.Close(cur)
		}
	}
	var st unix.Stat_t
	if unix.Fstat(1, &st) == nil {
		c.size = st.Size
	}
	return c
}

// pump copies r (the read end of cmd's stdout and stderr) to the log until
// every writer has closed it.
func (c *console) pump(r *os.File) {
	defer r.Close()
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			c.write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (c *console) write(p []byte) {
	if c.size+int64(len(p)) > ConsoleMax {
		if !c.rotate() {
			return // cut: the log stays at its bound
		}
	}
	n, _ := unix.Write(1, p)
	c.size += int64(n)
}

// rotate moves console.log's contents to console.log.1 and empties
// console.log. Where it cannot (the files are out of reach), the log is
// cut at its bound, saying so once.
func (c *console) rotate() bool {
	if c.cur >= 0 && c.renew() {
		c.size = 0
		return true
	}
	c.cur = -1
	if c.size < ConsoleMax {
		msg := []byte("leolab-init: console log full, output dropped from here\n")
		n, _ := unix.Write(1, msg)
		c.size = ConsoleMax + int64(n)
	}
	return false
}

func (c *console) renew() bool {
	if err := c.copyToOld(); err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: rotate console log: %v\n", err)
		return false
	}
	// Init's stdout and stderr share one open file: one truncate and one
	// seek start the log again for both (init's own messages included).
	if err := unix.Ftruncate(1, 0); err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: rotate console log: %v\n", err)
		return false
	}
	unix.Seek(1, 0, 0)
	return true
}

// copyToOld replaces console.log.1's contents with console.log's.
func (c *console) copyToOld() error {
	if err := unix.Ftruncate(c.old, 0); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, err := unix.Pread(c.cur, buf, off)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := unix.Pwrite(c.old, buf[:n], off); err != nil {
			return err
		}
		off += int64(n)
	}
}
