//go:build linux

package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal's master and slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestShellOnATerminal runs `leolab shell` on a real terminal: the node's
// shell gets a pty of its own with the caller's window size, a resize of the
// caller's terminal reaches it (SIGWINCH forwarded), and the shell's exit
// status comes back.
func TestShellOnATerminal(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("tty.yaml", topoNamed("tty"))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "tty")

	master, slave := openPty(t)
	defer master.Close()
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 31, Col: 97})
	cmd := exec.Command(binary, "--root", e.root, "shell", "h1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("terminal closed before %q", want)
				}
				if strings.Contains(l, want) && !strings.Contains(l, "echo") {
					return
				}
			case <-deadline:
				t.Fatalf("no %q on the terminal", want)
			}
		}
	}
	master.WriteString("tty; echo SIZE=$(stty size)\n")
	expect("/dev/pts/0")
	expect("SIZE=31 97")
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 44, Col: 120})
	time.Sleep(300 * time.Millisecond) // let the client forward the resize
	master.WriteString("echo SIZE=$(stty size)\n")
	expect("SIZE=44 120")
	master.WriteString("exit 5\n")
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Errorf("shell exit: %v, want status 5", err)
	}
}
