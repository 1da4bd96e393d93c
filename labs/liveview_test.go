package labs

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// A snapshot's node states follow its inits: running while the process
// lives, exited once it ends, read from the epoll set of their pidfds.
func TestNodeStatesFollowPidfds(t *testing.T) {
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	other := exec.Command("sleep", "600")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	s := &Snapshot{epfd: -1, fixed: map[string]string{"a": "running", "b": "running", "c": "missing"}}
	for name, pid := range map[string]int{"a": cmd.Process.Pid, "b": other.Process.Pid} {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Skipf("pidfd_open: %v", err)
		}
		s.watch = append(s.watch, watched{name, fd})
	}
	s.watchAll()
	defer s.Close()
	if s.epfd < 0 {
		t.Fatal("no epoll set")
	}
	if got := s.NodeStates(); got["a"] != "running" || got["b"] != "running" || got["c"] != "missing" {
		t.Fatalf("before: %v", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for i := 0; i < 2; i++ { // and again: an exited init stays exited
		if got := s.NodeStates(); got["a"] != "exited" || got["b"] != "running" || got["c"] != "missing" {
			t.Fatalf("after a exited: %v", got)
		}
	}
	if s.fixed["a"] != "running" {
		t.Error("NodeStates changed the snapshot's own states")
	}
}
