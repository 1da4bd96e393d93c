package node

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/embedded/memfd"
)

// TestCheckInitExeNoticesAReusedFd: once the init program's fd names
// another file, checkInitExe says so (and spawnInit then does not retry).
func TestCheckInitExeNoticesAReusedFd(t *testing.T) {
	fd, err := memfd.Sealed("check", []byte("#!/bin/true\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	oldFd, oldStat := initExeFd, initExeStat
	initExeFd, initExeStat = fd, st
	defer func() { initExeFd, initExeStat = oldFd, oldStat }()
	if err := checkInitExe(); err != nil {
		t.Fatalf("intact program reported: %v", err)
	}
	other, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup3(other, fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Close(other)
	if err := checkInitExe(); err == nil || !strings.Contains(err.Error(), "no longer holds") {
		t.Fatalf("reused fd not noticed: %v", err)
	}
}

// TestStartInitCmdRetriesARefusedExec: exec refused with EACCES is tried
// again after each delay; a later success is returned, and when every try
// is refused the error counts them and says how the path looks from here.
func TestStartInitCmdRetriesARefusedExec(t *testing.T) {
	oldDelays := initStartDelays
	initStartDelays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	defer func() { initStartDelays = oldDelays }()
	notExecutable := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := 0
	startAfter := func(n int) func() *exec.Cmd {
		calls = 0
		return func() *exec.Cmd {
			calls++
			if calls > n {
				return exec.Command("/bin/true")
			}
			return exec.Command(notExecutable)
		}
	}
	cmd, err := startInitCmd(startAfter(2))
	if err != nil || calls != 3 {
		t.Fatalf("refused twice, then runnable: %v after %d tries", err, calls)
	}
	cmd.Wait()
	_, err = startInitCmd(startAfter(100))
	if err == nil || calls != 4 || !errors.Is(err, unix.EACCES) ||
		!strings.Contains(err.Error(), "refused 3 more times") || !strings.Contains(err.Error(), "access("+notExecutable+", X_OK): permission denied") {
		t.Fatalf("always refused: %v after %d tries", err, calls)
	}
	// Any other error is not retried.
	calls = 0
	_, err = startInitCmd(func() *exec.Cmd { calls++; return exec.Command(filepath.Join(t.TempDir(), "missing")) })
	if err == nil || calls != 1 {
		t.Fatalf("missing program: %v after %d tries", err, calls)
	}
}
