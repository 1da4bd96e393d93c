package node

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// StartTimeOf returns field 22 of /proc/PID/stat (start time in clock ticks
// since boot), which tells a process apart from a later one reusing its pid.
func StartTimeOf(pid int) (uint64, error) {
	start, _, err := procStat(pid)
	return start, err
}

// procStat returns the start time and state letter of pid.
func procStat(pid int) (uint64, byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// comm may hold spaces and parentheses: fields start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse stat of pid %d: no comm", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse start time of pid %d: %w", pid, err)
	}
	return start, f[0][0], nil
}

// alive reports whether pid is still the process that started at startTime
// and has not exited (a zombie init has already torn down its PID namespace).
func alive(pid int, startTime uint64) bool {
	start, state, err := procStat(pid)
	return err == nil && start == startTime && state != 'Z' && state != 'X'
}

// Alive reports whether a node's init (pid, startTime) still runs. An init
// that died but was not yet reaped by its parent (a zombie, for as long as
// the host's PID 1 takes to reap orphans) is not alive: its node is gone.
func Alive(pid int, startTime uint64) bool { return pid > 0 && alive(pid, startTime) }

// ExitCause says how a dead node's init ended, when the kernel still knows:
// while it is a zombie, field 52 of /proc/PID/stat is its wait status.
// It returns "" once the init was reaped (or is someone else's pid).
func ExitCause(pid int, startTime uint64) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3, so field 52 (exit_code) is f[49].
	if len(f) < 50 || f[0] != "Z" || f[19] != strconv.FormatUint(startTime, 10) {
		return ""
	}
	code, err := strconv.Atoi(f[49])
	if err != nil {
		return ""
	}
	ws := unix.WaitStatus(code)
	switch {
	case ws.Signaled():
		return "killed by signal " + unix.SignalName(ws.Signal())
	case ws.Exited():
		return fmt.Sprintf("exited with status %d", ws.ExitStatus())
	}
	return ""
}

// Stop sends SIGTERM to a node's init, waits up to grace, then SIGKILLs it
// and waits until it is gone. Init's exit kills every process of the node's
// PID namespace. A pid that is gone or was recycled is success.
func Stop(pid int, startTime uint64, grace time.Duration) error {
	if pid <= 1 {
		return fmt.Errorf("stop node: refusing pid %d", pid)
	}
	if !alive(pid, startTime) {
		return nil
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("stop node init %d: %w", pid, err)
	}
	if waitGone(pid, startTime, grace) {
		return nil
	}
	// Re-check identity right before SIGKILL so a recycled pid is never hit.
	if !alive(pid, startTime) {
		return nil
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill node init %d: %w", pid, err)
	}
	for !waitGone(pid, startTime, time.Minute) {
	}
	return nil
}

// waitGone polls until the process is gone or d has passed.
func waitGone(pid int, startTime uint64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for delay := time.Millisecond; ; delay = min(delay*2, 50*time.Millisecond) {
		if !alive(pid, startTime) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay)
	}
}
