package node

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"leolab/internal/memfd"
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
