package node

import (
	"fmt"
	"os"

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
// init copies to console.log, starting a new file (the old one kept as
// console.log.1) whenever it reaches ConsoleMax.
type console struct {
	dir  int // the node's state dir, opened before the pivot; -1 if unreachable
	size int64
}

// openConsole opens the state dir while the host is still visible. A user
// namespace init may not reach it: its log is then cut at ConsoleMax.
func openConsole(stateDir string) *console {
	c := &console{dir: -1}
	if fd, err := unix.Open(stateDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		c.dir = fd
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

// rotate renames console.log to console.log.1 and makes a fresh
// console.log init's stdout and stderr. Where it cannot (the directory is
// out of reach), the log is cut at its bound, saying so once.
func (c *console) rotate() bool {
	if c.dir >= 0 && c.renew() {
		c.size = 0
		return true
	}
	c.dir = -1
	if c.size < ConsoleMax {
		msg := []byte("leolab-init: console log full, output dropped from here\n")
		n, _ := unix.Write(1, msg)
		c.size = ConsoleMax + int64(n)
	}
	return false
}

func (c *console) renew() bool {
	if err := unix.Renameat(c.dir, ConsoleLog, c.dir, ConsoleLogOld); err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: rotate console log: %v\n", err)
		return false
	}
	fd, err := unix.Openat(c.dir, ConsoleLog, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "leolab-init: rotate console log: %v\n", err)
		return false
	}
	// Both stdio fds of init now write the new file (init's own messages
	// included); commands get theirs explicitly.
	unix.Dup3(fd, 1, 0)
	unix.Dup3(fd, 2, 0)
	unix.Close(fd)
	return true
}
