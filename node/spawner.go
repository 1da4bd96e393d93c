package node

import (
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// spawner forks every process of a node whose pids or memory are limited,
// from one thread of init that the parent moves into the node's limited
// cgroups (a v1 tasks file moves a single thread). A child is born in the
// cgroups of the thread that forks it, so the node's processes count
// against the limits from their first instruction, while init's other
// threads stay outside them: the Go runtime aborts when it cannot create a
// thread, and a fork bomb in the node must not be able to kill its init.
// Init's memory is charged to the cgroup of its thread group leader, which
// stays in the node's own (the main goroutine keeps it, see init.go), so
// the OOM killer of the limited cgroup never chooses init.
// New runtime threads are never cloned from this locked thread (the
// runtime hands thread creation to its template thread), so they stay
// outside too.
type spawner struct {
	tid  int
	reqs chan spawnReq
}

type spawnReq struct {
	path  string
	argv  []string
	attr  *syscall.ProcAttr
	reply chan spawnResult
}

type spawnResult struct {
	pid int
	err error
}

// startSpawner starts the spawning thread and returns once its id is known.
func startSpawner() *spawner {
	sp := &spawner{reqs: make(chan spawnReq)}
	ready := make(chan int)
	go sp.loop(ready)
	sp.tid = <-ready
	return sp
}

func (sp *spawner) loop(ready chan<- int) {
	// Never unlocked: this thread is the one in the pids cgroup.
	runtime.LockOSThread()
	ready <- unix.Gettid()
	for r := range sp.reqs {
		pid, err := syscall.ForkExec(r.path, r.argv, r.attr)
		r.reply <- spawnResult{pid, err}
	}
}

// forkExec runs syscall.ForkExec on the spawning thread, or on the calling
// thread when sp is nil (a node without a pids limit).
func (sp *spawner) forkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	if sp == nil {
		return syscall.ForkExec(path, argv, attr)
	}
	reply := make(chan spawnResult, 1)
	sp.reqs <- spawnReq{path, argv, attr, reply}
	r := <-reply
	return r.pid, r.err
}
