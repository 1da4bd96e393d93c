// Package nldump owns the retry of netlink dumps the kernel interrupted
// (NLM_F_DUMP_INTR: the table changed while it was being read), so every
// link or route listing in leolab tries the same number of times.
package nldump

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// Tries is how many times a dump is attempted before its error stands.
const Tries = 20

// Retry runs dump until it is not interrupted, at most Tries times, and
// returns the last result.
func Retry[T any](dump func() ([]T, error)) ([]T, error) {
	var out []T
	err := Run(func() error {
		var err error
		out, err = dump()
		return err
	})
	if errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, err // still inconsistent after Tries
	}
	return out, err
}

// Run is Retry for a dump that delivers its messages itself (an
// ExecuteIter callback, say): dump must start afresh each time it is run.
func Run(dump func() error) error {
	var err error
	for range Tries {
		if err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}
