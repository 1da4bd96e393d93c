package nldump

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestRetryRetriesOnlyInterruptedDumps(t *testing.T) {
	calls := 0
	got, err := Retry(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{0}, netlink.ErrDumpInterrupted
		}
		return []int{1, 2}, nil
	})
	if err != nil || len(got) != 2 || calls != 3 {
		t.Errorf("got %v %v after %d calls, want [1 2] after 3", got, err, calls)
	}

	calls = 0
	other := errors.New("boom")
	if _, err := Retry(func() ([]int, error) { calls++; return nil, other }); err != other || calls != 1 {
		t.Errorf("other error: %v after %d calls, want boom after 1", err, calls)
	}

	calls = 0
	_, err = Retry(func() ([]int, error) { calls++; return nil, netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) || calls != Tries {
		t.Errorf("always interrupted: %v after %d calls, want ErrDumpInterrupted after %d", err, calls, Tries)
	}
}
