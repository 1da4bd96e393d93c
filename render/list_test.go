package render

import (
	"strings"
	"testing"
	"time"

	"leolab/labs/view"
)

// TestListTable: one lab a line, its start in local time to the second.
func TestListTable(t *testing.T) {
	since := time.Date(2026, 3, 4, 5, 6, 7, 0, time.Local)
	entries := []view.ListEntry{
		{Name: "two-lans", Nodes: 4, Running: 4, Since: since, Phase: "running"},
		{Name: "iso", Nodes: 12, Running: 11, Since: since.Add(time.Hour), Isolated: true, Phase: "interrupted"},
	}
	var b strings.Builder
	ListTable(&b, entries)
	want := lines(
		"LAB       NODES  RUNNING  SINCE                ISOLATED  PHASE",
		"two-lans  4      4        2026-03-04 05:06:07  false     running",
		"iso       12     11       2026-03-04 06:06:07  true      interrupted",
	)
	if b.String() != want {
		t.Errorf("list:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	ListTable(&b, nil)
	if want := "LAB  NODES  RUNNING  SINCE  ISOLATED  PHASE\n"; b.String() != want {
		t.Errorf("list of no labs: %q, want %q", b.String(), want)
	}
}
