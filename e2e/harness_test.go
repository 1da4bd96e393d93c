//go:build linux

// Package e2e runs the real leolab binary, as root, against the real kernel:
// whole labs deployed, exercised and destroyed, with a host snapshot taken
// before each case and compared after it, so every case proves both its
// outcome and that nothing was left behind.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// binary is the leolab binary under test, built once with the fault hook.
var binary string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: skipped, needs root")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "leolab-e2e-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "leolab")
	build := exec.Command("go", "build", "-tags", "leolabfault", "-o", binary, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build leolab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's leolab root and helpers to run the binary in it.
type env struct {
	t    *testing.T
	root string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	e := &env{t: t, root: t.TempDir()}
	// t.TempDir's parent is 0700; user-namespace nodes need to traverse it.
	os.Chmod(filepath.Dir(e.root), 0o711)
	before := takeSnapshot(t, e.root)
	t.Cleanup(func() {
		if t.Failed() {
			e.run("destroy", "--all", "--cleanup") // best effort, so one failure does not cascade
		}
		after := takeSnapshot(t, e.root)
		if diff := before.diff(after); diff != "" {
			t.Errorf("host not returned to its prior state:\n%s", diff)
		}
	})
	return e
}

// result is one finished leolab run.
type result struct {
	code           int
	stdout, stderr string
}

func (e *env) run(args ...string) result {
	return e.runEnv(nil, args...)
}

func (e *env) runEnv(extraEnv []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"--root", e.root}, args...)...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		e.t.Fatalf("run leolab %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs leolab and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("leolab %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// writeTopo writes a topology file into the test's temp dir.
func (e *env) writeTopo(name, text string) string {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// snapshot is what leolab could leave behind on the host.
type snapshot map[string][]string

func takeSnapshot(t *testing.T, root string) snapshot {
	t.Helper()
	return snapshot{
		"links":     links(t),
		"netns":     listDir("/run/netns"),
		"iptables":  iptablesRules(),
		"mounts":    mounts(),
		"processes": foreignPidnsProcs(),
		"cgroups":   leolabCgroups(),
		"files":     filesUnder(root),
	}
}

func (s snapshot) diff(o snapshot) string {
	var b strings.Builder
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		was, now := set(s[k]), set(o[k])
		for _, v := range o[k] {
			if !was[v] {
				fmt.Fprintf(&b, "  %s: + %s\n", k, v)
			}
		}
		for _, v := range s[k] {
			if !now[v] {
				fmt.Fprintf(&b, "  %s: - %s\n", k, v)
			}
		}
	}
	return b.String()
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func links(t *testing.T) []string {
	ls, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, l.Attrs().Name+" "+l.Attrs().Alias)
	}
	return out
}

func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func iptablesRules() []string {
	var out []string
	for _, bin := range []string{"iptables-save", "iptables-legacy-save"} {
		data, err := exec.Command(bin).Output()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			// Comments, table headers and built-in chain counters change by
			// themselves (iptables-nft creates a table on first use and keeps it
			// empty); chains and rules are what leolab must leave as it found them.
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "*") || line == "COMMIT" ||
				strings.HasPrefix(line, ":") && !strings.Contains(line, "LEOLAB") {
				continue
			}
			if line != "" {
				out = append(out, bin+": "+stripCounters(line))
			}
		}
	}
	return out
}

func stripCounters(line string) string {
	if i := strings.LastIndex(line, " ["); i > 0 && strings.HasPrefix(line, ":") {
		return line[:i]
	}
	return line
}

func mounts() []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// /run/netns itself becomes a shared self-bind the first time any
		// netns is registered (as iproute2 does) and stays: shared host
		// plumbing, not a lab's resource. Everything under it is compared.
		if len(f) > 4 && f[4] != "/run/netns" {
			out = append(out, f[4]+" "+f[3])
		}
	}
	return out
}

// foreignPidnsProcs lists processes living in another PID namespace than
// ours: every node process is one.
func foreignPidnsProcs() []string {
	self, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return nil
	}
	var out []string
	for _, pid := range listDir("/proc") {
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		ns, err := os.Readlink("/proc/" + pid + "/ns/pid")
		if err != nil || ns == self || isZombie(pid) {
			continue // a zombie holds no namespace or memory, only a pid until the host's init reaps it
		}
		cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		out = append(out, pid+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

func leolabCgroups() []string {
	var out []string
	for _, pat := range []string{"/sys/fs/cgroup/leolab", "/sys/fs/cgroup/*/leolab"} {
		matches, _ := filepath.Glob(pat)
		for _, m := range matches {
			filepath.WalkDir(m, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					out = append(out, p)
				}
				return nil
			})
		}
	}
	return out
}

// filesUnder lists files under the leolab root, except the global IPAM lock
// and the image cache, which outlive labs by design.
func filesUnder(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "images" && d.IsDir() {
			return filepath.SkipDir
		}
		if rel != "." && rel != "locks/ipam.lock" && rel != "locks" && rel != "labs" {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isZombie(pid string) bool {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return true // gone
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z'
}
