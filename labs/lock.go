package labs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/flock"
)

// ErrLocked is returned when another leolab process holds a lab's lock.
var ErrLocked = errors.New("locked by another leolab process")

// fileLock is an flock(2) on a file. The kernel drops it when the holder
// dies, so a lock whose holder was killed is free again.
type fileLock struct {
	f    *os.File
	path string
	// stale, when set, reports at unlock time that the lock guards nothing
	// any more (its lab has no directory), so the file goes too.
	stale func() bool
	// afterRemove, when set, runs after the lock file was removed, still
	// holding the lock (removes the directory it was in, say).
	afterRemove func()
}

// lockFile takes an exclusive flock on path, creating it. With wait false it
// fails fast with ErrLocked. The path is re-checked after locking so that a
// lock file unlinked by its previous holder is never mistaken for the live one.
func lockFile(path string, wait bool) (*fileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for tries := 0; ; tries++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, fs.ErrNotExist) && tries < 100 {
			// Its directory was removed by the last holder as we opened:
			// make it again.
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := flock.Exclusive(f, wait); err != nil {
			f.Close()
			if errors.Is(err, flock.ErrHeld) {
				return nil, ErrLocked
			}
			return nil, err
		}
		if sameFile(f, path) {
			return &fileLock{f: f, path: path}, nil
		}
		f.Close() // the file was replaced while we waited: lock the new one
	}
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	if err != nil {
		return false
	}
	return os.SameFile(a, b)
}

// unlock releases the lock; with remove, or when the lock has gone stale,
// it first deletes the lock file (the lab is gone, or was never created, so
// no lock file outlives it). Deleting while still holding the flock is safe:
// lockFile re-checks the path after locking.
func (l *fileLock) unlock(remove bool) {
	if l == nil || l.f == nil {
		return // already released: never remove a file someone else now holds
	}
	if remove || l.stale != nil && l.stale() {
		os.Remove(l.path)
		if l.afterRemove != nil {
			l.afterRemove()
		}
	}
	l.f.Close()
	l.f = nil
}

// destroyLockWait is how long destroy waits for a lab's lock. A deploy
// killed by SIGKILL releases it as it dies, except when it was forking a
// node's init at that instant: the child holds a copy of the lock's file
// descriptor until its exec closes it, a moment later.
const destroyLockWait = 5 * time.Second

// lockLab takes a lab's lock, failing fast when another leolab holds it.
func (m *Manager) lockLab(lab string) (*fileLock, error) {
	return m.lockLabWithin(lab, 0)
}

// lockLabWithin takes a lab's lock, retrying for up to wait while another
// process holds it.
func (m *Manager) lockLabWithin(lab string, wait time.Duration) (*fileLock, error) {
	deadline := time.Now().Add(wait)
	l, err := lockFile(m.lockPath(lab), false)
	for errors.Is(err, ErrLocked) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		l, err = lockFile(m.lockPath(lab), false)
	}
	if errors.Is(err, ErrLocked) {
		return nil, fmt.Errorf("lab %s is %w (a deploy or destroy of it is running)", lab, err)
	}
	if err != nil {
		return nil, err
	}
	// A deploy refused before its state was written (a subnet taken on the
	// host, say) leaves no lab, and so must leave no lock file either.
	l.stale = func() bool {
		_, err := os.Lstat(m.labDir(lab))
		return errors.Is(err, fs.ErrNotExist)
	}
	return l, nil
}

// lockClaimsAndForwarding takes the host-wide lock (one for every leolab
// root on the host) that guards the host's lab claims (and so the planning
// that reads them: parallel deploys under any roots never take the same
// subnet, name or id range) and the saved ip_forward and IPv6 forwarding
// settings. Its file keeps its old name, ipam.lock, so that leolab
// binaries of either name exclude each other. Its release removes the host
// directory once no lab claims anything.
func (m *Manager) lockClaimsAndForwarding() (*fileLock, error) {
	l, err := lockFile(hostLockPath(), true)
	if err != nil {
		return nil, err
	}
	l.stale = hostDirIdle
	l.afterRemove = removeHostDirIfIdle
	return l, nil
}

// labBusy reports whether another leolab process holds lab's lock right now
// (a deploy or destroy of it is running). It never creates a lock file.
func (m *Manager) labBusy(lab string) bool {
	f, err := os.OpenFile(m.lockPath(lab), os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false // no lock file: nobody holds it
	}
	defer f.Close() // releases the lock if Held took it
	return flock.Held(f)
}
