package nsthread_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"leolab/internal/nstest"
	"leolab/internal/nsthread"
)

func netnsLink(t *testing.T) string {
	l, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Error(err)
	}
	return l
}

// TestDoRunsInsideTheNamespace: fn sees the namespace it was given (by
// handle or by path), and the caller's thread stays where it was.
func TestDoRunsInsideTheNamespace(t *testing.T) {
	ns := nstest.New(t)
	want, err := os.Readlink(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	before := netnsLink(t)
	var byHandle, byPath, none string
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nsthread.Do(ns.Handle, func() error { byHandle = netnsLink(t); return nil }))
	must(nsthread.DoPath(ns.Path, func() error { byPath = netnsLink(t); return nil }))
	must(nsthread.Do(netns.None(), func() error { none = netnsLink(t); return nil }))
	if byHandle != want || byPath != want {
		t.Errorf("fn ran in %s (handle) and %s (path), want %s", byHandle, byPath, want)
	}
	if none == want {
		t.Errorf("Do(None) ran in the new namespace")
	}
	if after := netnsLink(t); after != before {
		t.Errorf("caller moved from %s to %s", before, after)
	}
	if err := nsthread.DoPath("/nonexistent/netns", func() error { return nil }); err == nil || !strings.Contains(err.Error(), "/nonexistent/netns") {
		t.Errorf("missing namespace: %v", err)
	}
}
