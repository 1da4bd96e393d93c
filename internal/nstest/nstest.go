//go:build linux

// Package nstest runs kernel tests inside throwaway network namespaces and
// checks that they leave nothing behind. It owns only the namespaces it
// creates; it never changes anything outside them.
package nstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"leolab/internal/hostnames"
)

// RequireRoot skips t unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// Enter skips t unless root, locks the test goroutine to its OS thread and
// moves that thread into a fresh network namespace, which stands in for the
// host for the rest of the test. t.Cleanup moves the thread back (the
// namespace dies with its last reference) and then runs CheckLeaks for
// leakPrefix against the real namespace. Subtests run on other goroutines:
// call Enter in each of them, not in the parent.
func Enter(t testing.TB, leakPrefix string) netns.NsHandle {
	t.Helper()
	RequireRoot(t)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("get current netns: %v", err)
	}
	CheckLeaks(t, leakPrefix)
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Fatalf("new netns: %v", err)
	}
	t.Cleanup(func() {
		ns.Close()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime kills it with the goroutine.
			t.Errorf("restore netns: %v", err)
			return
		}
		orig.Close()
		runtime.UnlockOSThread()
	})
	return ns
}

// NS is a throwaway network namespace the caller has not entered.
type NS struct {
	Handle netns.NsHandle
	Path   string // /proc/PID/fd/N, usable wherever a namespace path is
}

// New creates a network namespace without moving the calling thread; it is
// closed (and so destroyed) in t.Cleanup.
func New(t testing.TB) NS {
	t.Helper()
	RequireRoot(t)
	var ns netns.NsHandle
	err := Do(netns.None(), func() error {
		var err error
		ns, err = netns.New()
		return err
	})
	if err != nil {
		t.Fatalf("new netns: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return NS{Handle: ns, Path: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns))}
}

// Do runs fn on a fresh OS thread inside ns (or wherever the calling
// process's threads are when ns is netns.None()). The thread is discarded
// afterwards, so no goroutine ever inherits its namespace. Sockets created
// in fn stay in ns after Do returns.
func Do(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if ns.IsOpen() {
			if err := netns.Set(ns); err != nil {
				errc <- fmt.Errorf("enter netns: %w", err)
				return
			}
		}
		errc <- fn()
	}()
	return <-errc
}

// CheckLeaks records the process's open namespace descriptors now and, in
// t.Cleanup, fails t if any link, address holder, /run/netns entry, mount or
// iptables rule or chain in the calling thread's namespace mentions prefix,
// or if namespace descriptors were left open. Call it before anything the
// test creates (cleanups run last-registered first).
func CheckLeaks(t testing.TB, prefix string) {
	t.Helper()
	if prefix == "" {
		t.Fatal("CheckLeaks: empty prefix")
	}
	before := nsFDs()
	t.Cleanup(func() {
		if after := nsFDs(); after > before {
			t.Errorf("leak: %d namespace descriptors open, %d before", after, before)
		}
		for _, l := range leaks(prefix) {
			t.Errorf("leak: %s", l)
		}
	})
}

func leaks(prefix string) []string {
	var out []string
	links, err := netlink.LinkList()
	if err != nil {
		out = append(out, fmt.Sprintf("list links: %v", err))
	}
	for _, l := range links {
		a := l.Attrs()
		if strings.Contains(a.Name, prefix) || strings.Contains(a.Alias, prefix) {
			out = append(out, fmt.Sprintf("link %s (alias %q)", a.Name, a.Alias))
		}
	}
	if ents, err := os.ReadDir(hostnames.NetnsDir); err == nil {
		for _, e := range ents {
			if strings.Contains(e.Name(), prefix) {
				out = append(out, "netns "+hostnames.NetnsPath(e.Name()))
			}
		}
	}
	if mi, err := os.ReadFile("/proc/thread-self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mi), "\n") {
			if strings.Contains(line, prefix) {
				out = append(out, "mount "+line)
			}
		}
	}
	for _, l := range iptablesLines() {
		if strings.Contains(l, prefix) {
			out = append(out, "iptables "+l)
		}
	}
	return out
}

// iptablesLines dumps the rules of every installed backend in the current
// namespace. Legacy is read only if it has tables, since reading would
// create them.
func iptablesLines() []string {
	var out []string
	for _, save := range []string{"iptables-nft-save", "iptables-legacy-save"} {
		if save == "iptables-legacy-save" {
			names, _ := os.ReadFile("/proc/thread-self/net/ip_tables_names")
			if len(bytes.TrimSpace(names)) == 0 {
				continue
			}
		}
		p, err := exec.LookPath(save)
		if err != nil {
			continue
		}
		b, err := exec.Command(p).Output()
		if err != nil {
			out = append(out, fmt.Sprintf("%s failed: %v", save, err))
			continue
		}
		out = append(out, strings.Split(string(b), "\n")...)
	}
	return out
}

// nsFDs counts this process's open namespace descriptors.
func nsFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, "net:[") {
			n++
		}
	}
	return n
}

// Count returns how many of the current namespace's iptables lines (all
// backends) contain s; tests use it to assert rules exist or are gone.
func Count(s string) int {
	n := 0
	for _, l := range iptablesLines() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}
