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
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"leolab/internal/hostnames"
	"leolab/internal/nldump"
	"leolab/internal/nsthread"
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
// process's threads are when ns is netns.None()): nsthread.Do.
func Do(ns netns.NsHandle, fn func() error) error { return nsthread.Do(ns, fn) }

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
	state, errs := HostState()
	out = append(out, errs...)
	for _, kind := range stateKinds {
		for _, item := range state[kind] {
			if strings.Contains(item, prefix) {
				out = append(out, kind+" "+item)
			}
		}
	}
	return out
}

// stateKinds are HostState's keys, in the order leaks reports them.
var stateKinds = []string{"links", "netns", "mounts", "iptables"}

// HostState lists, one string an item, what a kernel test can leave behind
// in the calling thread's network and mount namespaces: "links" (Links),
// "netns" (the names under /run/netns), "mounts" (Mounts) and "iptables"
// (IPTables). It is the one leak scan: CheckLeaks looks in it for a prefix;
// the end-to-end tests compare its parts before and after. errs says what
// could not be read.
func HostState() (state map[string][]string, errs []string) {
	state = map[string][]string{}
	links, err := Links()
	if err != nil {
		errs = append(errs, err.Error())
	}
	state["links"] = links
	if ents, err := os.ReadDir(hostnames.NetnsDir); err == nil {
		for _, e := range ents {
			state["netns"] = append(state["netns"], e.Name())
		}
	}
	state["mounts"] = Mounts()
	state["iptables"] = IPTables()
	return state, errs
}

// Links lists the calling thread's network namespace's links as "NAME ALIAS".
func Links() ([]string, error) {
	links, err := nldump.Retry(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	out := make([]string, 0, len(links))
	for _, l := range links {
		out = append(out, l.Attrs().Name+" "+l.Attrs().Alias)
	}
	return out, nil
}

// Mounts lists the calling thread's mounts as "MOUNTPOINT ROOT FSTYPE
// SOURCE"; ids and options are left out, as they change without anything
// being leaked.
func Mounts() []string {
	mi, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep > 4 && len(f) > sep+2 {
			out = append(out, strings.Join([]string{f[4], f[3], f[sep+1], f[sep+2]}, " "))
		}
	}
	return out
}

// IPTables dumps the chains and rules of every installed backend in
// the current namespace, for IPv4 and IPv6. A legacy backend is read only
// if it has tables, since reading would create them. Comments, table
// headers, COMMIT and the counters of built-in chains change by themselves
// (iptables-nft creates a table on first use and keeps it empty), so they
// are left out.
func IPTables() []string {
	var out []string
	for _, save := range []struct{ bin, legacyTables string }{
		{"iptables-nft-save", ""},
		{"iptables-legacy-save", "/proc/thread-self/net/ip_tables_names"},
		{"ip6tables-nft-save", ""},
		{"ip6tables-legacy-save", "/proc/thread-self/net/ip6_tables_names"},
	} {
		if save.legacyTables != "" {
			names, _ := os.ReadFile(save.legacyTables)
			if len(bytes.TrimSpace(names)) == 0 {
				continue
			}
		}
		p, err := exec.LookPath(save.bin)
		if err != nil {
			continue
		}
		b, err := exec.Command(p).Output()
		if err != nil {
			out = append(out, fmt.Sprintf("%s failed: %v", save.bin, err))
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line == "" || line == "COMMIT" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "*") ||
				strings.HasPrefix(line, ":") && !strings.Contains(line, "LEOLAB") {
				continue
			}
			out = append(out, save.bin+": "+stripCounters(line))
		}
	}
	return out
}

// stripCounters drops the [packets:bytes] of a chain line.
func stripCounters(line string) string {
	if i := strings.LastIndex(line, " ["); i > 0 && strings.HasPrefix(line, ":") {
		return line[:i]
	}
	return line
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

// Count returns how many of the current namespace's IPv4 iptables chains
// and rules (all backends) contain s; tests use it to assert rules exist or
// are gone.
func Count(s string) int {
	n := 0
	for _, l := range IPTables() {
		if strings.HasPrefix(l, "iptables-") && strings.Contains(l, s) {
			n++
		}
	}
	return n
}
