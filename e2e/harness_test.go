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
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"leolab/internal/hostnames"
	"leolab/internal/nstest"
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
	// Built as make build does (the node init embedded), plus the fault hook.
	for _, args := range [][]string{
		{"build", "-o", "../internal/embedded/initbin/leolab-init", "../cmd/leolab-init"},
		{"build", "-o", "../internal/embedded/fetchbin/leolab-fetch", "../cmd/leolab-fetch"},
		{"build", "-tags", "leolabfault,leolab_embed_init,leolab_embed_fetch", "-o", binary, ".."},
	} {
		build := exec.Command("go", args...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %v: %v\n%s", args, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's leolab root and helpers to run the binary in it.
type env struct {
	t    *testing.T
	root string

	mu   sync.Mutex
	labs map[string]bool // lab names this test deploys (see own)
}

// own declares lab names this test deploys. On a shared host
// (LEOLAB_E2E_SHARED_HOST=1) host objects that provably belong to some other
// lab (another test or user of this host deploying under another root at the
// same time) are left out of the snapshot diff;
// everything of an owned lab, and everything attributable to no lab, must
// come back exactly. writeTopo declares the file's name by itself.
func (e *env) own(labs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range labs {
		e.labs[l] = true
	}
}

func (e *env) owns(lab string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.labs[lab]
}

// ownsNetns reports whether a /run/netns name is one of an owned lab's
// (LAB-NODE or the isolated lab's namespace).
func (e *env) ownsNetns(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for l := range e.labs {
		if strings.HasPrefix(name, l+"-") || name == hostnames.LabNetns(l) {
			return true
		}
	}
	return false
}

// sharedHost is set (LEOLAB_E2E_SHARED_HOST=1) when other agents or test
// runs work on this host at the same time: the diff then only holds items
// attributable to this test's labs or root, since links and processes
// others create without a leolab mark cannot be told apart.
var sharedHost = os.Getenv("LEOLAB_E2E_SHARED_HOST") == "1"

// foreign reports whether a snapshot item belongs to someone else: a lab
// this test does not own or, on a shared host, no lab at all.
// Without LEOLAB_E2E_SHARED_HOST (CI, make test) nothing is foreign: every
// difference on the host fails the test, whoever's lab it names.
func (e *env) foreign(kind, item string) bool {
	if !sharedHost {
		return false
	}
	if kind != "files" && !e.attributable(kind, item) {
		return true
	}
	return e.otherLab(kind, item)
}

// attributable reports whether an item carries a leolab mark.
func (e *env) attributable(kind, item string) bool {
	switch kind {
	case "links":
		return strings.Contains(item, " leolab:")
	case "processes":
		return strings.Contains(item, " [lab=")
	case "mounts":
		return strings.HasPrefix(item, "/run/netns/") || strings.HasPrefix(item, e.root)
	case "iptables":
		return strings.Contains(item, "LEOLAB")
	case "hostdir":
		return strings.HasPrefix(item, "claims/") && strings.HasSuffix(item, ".json")
	}
	return true // netns, cgroups: only leolab's are listed
}

func (e *env) otherLab(kind, item string) bool {
	switch kind {
	case "links":
		_, alias, _ := strings.Cut(item, " ")
		if rest, ok := strings.CutPrefix(alias, "leolab:"); ok {
			lab, _, _ := strings.Cut(rest, ":")
			return !e.owns(lab)
		}
	case "netns":
		return !e.ownsNetns(item)
	case "hostdir":
		lab, _, _ := strings.Cut(strings.TrimPrefix(item, "claims/"), "@")
		return !e.owns(lab)
	case "mounts":
		if name, ok := strings.CutPrefix(strings.Fields(item)[0], "/run/netns/"); ok {
			return !e.ownsNetns(name)
		}
	case "iptables":
		if !strings.Contains(item, "LEOLAB-") {
			return false
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for l := range e.labs {
			if strings.Contains(item, hostnames.LabChain(l)) {
				return false
			}
		}
		return true
	case "processes":
		if _, lab, ok := strings.Cut(item, " [lab="); ok {
			return !e.owns(strings.TrimSuffix(lab, "]"))
		}
	case "cgroups":
		_, rest, _ := strings.Cut(item, "/leolab/")
		lab, _, _ := strings.Cut(rest, "/")
		return lab == "" || !e.owns(lab) // the shared leolab/ parent, or another lab's
	}
	return false
}

func newEnv(t *testing.T) *env {
	t.Helper()
	nstest.RequireRoot(t)
	e := &env{t: t, root: t.TempDir(), labs: map[string]bool{}}
	// t.TempDir's parent is 0700; user-namespace nodes need to traverse it.
	os.Chmod(filepath.Dir(e.root), 0o711)
	before := takeSnapshot(t, e.root)
	t.Cleanup(func() {
		if t.Failed() {
			e.run("destroy", "--all", "--cleanup") // best effort, so one failure does not cascade
		}
		after := takeSnapshot(t, e.root)
		if diff := before.diff(after, e.foreign); diff != "" {
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
	r, err := runCmd(exec.Command(binary, append([]string{"--root", e.root}, args...)...), extraEnv)
	if err != nil {
		e.t.Fatalf("run leolab %v: %v", args, err)
	}
	return r
}

// runCmd runs cmd with extraEnv added to this process's environment and
// returns its output and exit status (128+N when killed by signal N); err
// is only for a command that could not be run at all.
func runCmd(cmd *exec.Cmd, extraEnv []string) (result, error) {
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
		return result{}, err
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}, nil
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

var topoName = regexp.MustCompile(`(?m)^name: *"?([a-z][a-z0-9-]*)`)

// writeTopo writes a topology file into the test's temp dir and declares
// its lab name as the test's own.
func (e *env) writeTopo(name, text string) string {
	e.t.Helper()
	if m := topoName.FindStringSubmatch(text); m != nil {
		e.own(m[1])
	}
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
		"iptables":  nstest.IPTables(),
		"mounts":    mounts(),
		"processes": foreignPidnsProcs(),
		"cgroups":   leolabCgroups(),
		"files":     filesUnder(root),
		"hostdir":   hostDirFiles(),
		"sysctls":   hostSysctls(),
	}
}

// diff lists what differs between s and o, except items skip says belong
// to someone else.
func (s snapshot) diff(o snapshot, skip func(kind, item string) bool) string {
	var b strings.Builder
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		was, now := set(s[k]), set(o[k])
		for _, v := range o[k] {
			if !was[v] && !skip(k, v) {
				fmt.Fprintf(&b, "  %s: + %s\n", k, v)
			}
		}
		for _, v := range s[k] {
			if !now[v] && !skip(k, v) {
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

// links lists the host's links as "NAME ALIAS".
func links(t *testing.T) []string {
	ls, err := nstest.Links()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// mounts lists the host's mounts (nstest.Mounts) but /run/netns itself,
// which becomes a shared self-bind the first time any netns is registered
// (as iproute2 does) and stays: shared host plumbing, not a lab's
// resource. Everything under it is compared.
func mounts() []string {
	var out []string
	for _, m := range nstest.Mounts() {
		if !strings.HasPrefix(m, "/run/netns ") {
			out = append(out, m)
		}
	}
	return out
}

// foreignPidnsProcs lists processes living in another PID namespace than
// ours: every node process is one. Each is tagged with the lab of the
// leolab-init it descends from, when it does.
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
		item := pid + " " + strings.ReplaceAll(string(cmd), "\x00", " ")
		if lab := initLabOf(pid); lab != "" {
			item += " [lab=" + lab + "]"
		}
		out = append(out, item)
	}
	return out
}

// initLabOf walks pid's ancestors up to a node init and returns its lab.
func initLabOf(pid string) string {
	for range 64 {
		cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil {
			return ""
		}
		if args := strings.Split(string(cmd), "\x00"); args[0] == "leolab-init" && len(args) > 1 {
			return args[1]
		}
		ppid := parentOf(pid)
		if ppid <= 1 {
			return ""
		}
		pid = strconv.Itoa(ppid)
	}
	return ""
}

// parentOf reads the parent pid from /proc/PID/stat (0 if unknown).
func parentOf(pid string) int {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
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

// hostDirFiles lists what is under leolab's host-wide directory (/run/leolab:
// the host lock, the labs' claims, the saved ip_forward), relative to it.
// It must be gone, or exactly as before, once a test's labs are destroyed.
func hostDirFiles() []string {
	const dir = "/run/leolab"
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(dir, p)
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

// hostSysctls are the host settings leolab may change (NAT turns on
// forwarding) and must restore.
func hostSysctls() []string {
	var out []string
	for _, key := range []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"} {
		v, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
		if err == nil {
			out = append(out, key+"="+strings.TrimSpace(string(v)))
		}
	}
	return out
}
