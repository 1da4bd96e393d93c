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
	var (
		out []T
		err error
	)
	for range Tries {
		out, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return nil, err
}
