// Package flock owns leolab's advisory file locks: an exclusive flock(2) on
// an open lock file, taken at once or waited for, retried over EINTR. What
// a lock guards, and where its file lives, is the caller's business.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrHeld is returned (wrapped) when another holder has the lock.
var ErrHeld = errors.New("lock held")

// Exclusive takes an exclusive flock on f. With wait false it fails at once
// with ErrHeld when another holder has it; with wait true it blocks.
func Exclusive(f *os.File, wait bool) error {
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("%w: %s", ErrHeld, f.Name())
		default:
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
	}
}

// Held reports whether another holder has the lock on f. It takes the lock
// when free: closing f releases it.
func Held(f *os.File) bool {
	return errors.Is(Exclusive(f, false), ErrHeld)
}

// Wait takes an exclusive flock on f, polling (so that ctx can end the
// wait) until it is free or ctx is done.
func Wait(ctx context.Context, f *os.File) error {
	delay := time.Millisecond
	for {
		err := Exclusive(f, false)
		if !errors.Is(err, ErrHeld) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}
