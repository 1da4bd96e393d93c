//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const twoHosts = `name: %s
bridges:
  lan: {}
nodes:
  h1:
    interfaces: {eth0: lan}
  h2:
    interfaces: {eth0: lan}
`

func topoNamed(name string) string { return strings.Replace(twoHosts, "%s", name, 1) }

// TestDemoLabPingAcrossRouter is the README's demo: deploy, ping on the same
// LAN and across a router, inspect, destroy, nothing left.
func TestDemoLabPingAcrossRouter(t *testing.T) {
	e := newEnv(t)
	e.own("demo")
	topo, _ := filepath.Abs("../labs/examples/demo.yaml")
	e.must("deploy", topo)
	e.must("exec", "h1", "--", "ping", "-c", "1", "-W", "2", "h2")
	e.must("exec", "h1", "--", "ping", "-c", "1", "-W", "2", "h3")
	e.mustCheck(topo)
	out := e.must("exec", "demo/h3", "hostname")
	if strings.TrimSpace(out) != "h3" {
		t.Errorf("hostname in h3 = %q", out)
	}
	var view struct {
		Name  string
		Nodes []struct {
			Name, State string
			Pid         int
			Interfaces  []struct{ Name, Bridge, IPv4 string }
		}
	}
	if err := json.Unmarshal([]byte(e.must("inspect", "--lab", "demo", "--format", "json")), &view); err != nil {
		t.Fatalf("inspect json: %v", err)
	}
	if view.Name != "demo" || len(view.Nodes) != 4 {
		t.Fatalf("inspect: %+v", view)
	}
	for _, n := range view.Nodes {
		if n.State != "running" || n.Pid == 0 {
			t.Errorf("node %s: state %s pid %d", n.Name, n.State, n.Pid)
		}
	}
	if !strings.Contains(e.must("list"), "demo") {
		t.Error("list does not show demo")
	}
	e.must("destroy", topo)
	e.must("destroy", topo) // idempotent
}

// TestExecExitCodes checks the exit status contract of exec.
func TestExecExitCodes(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("codes.yaml", topoNamed("codes"))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "codes")
	for _, c := range []struct {
		argv []string
		want int
	}{
		{[]string{"true"}, 0},
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"/etc/passwd"}, 126},
		{[]string{"no-such-command"}, 127},
	} {
		r := e.run(append([]string{"exec", "h1", "--"}, c.argv...)...)
		if r.code != c.want {
			t.Errorf("exec %v: exit %d, want %d (stderr %q)", c.argv, r.code, c.want, r.stderr)
		}
	}
	// -i before NODE or after it (SPEC §4), on the fast path and through
	// the CLI (--log-level sends it there).
	for _, args := range [][]string{
		{"exec", "-i", "h2", "--", "cat"},
		{"exec", "h2", "-i", "--", "cat"},
		{"--log-level", "warn", "exec", "h2", "-i", "cat"},
	} {
		cmd := exec.Command(binary, append([]string{"--root", e.root}, args...)...)
		cmd.Stdin = strings.NewReader("through stdin\n")
		out, err := cmd.Output()
		if err != nil || string(out) != "through stdin\n" {
			t.Errorf("%v: stdin passthrough: %q, %v", args, out, err)
		}
	}
	// -t after NODE: the command runs on a terminal of the node.
	if out := e.must("exec", "h1", "-t", "--", "sh", "-c", "test -t 1 && echo tty"); strings.TrimSpace(out) != "tty" {
		t.Errorf("exec NODE -t: %q", out)
	}
}

// TestExecFastPathSkipsTheCLI: a plain exec runs from internal/quickexec's
// package initialiser, before any third-party package of the CLI
// initialises (GODEBUG=inittrace lists every initialiser that ran); an exec
// it leaves to the CLI (here: with --log-level) gives the same results.
func TestExecFastPathSkipsTheCLI(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("fast.yaml", topoNamed("fast"))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "fast")
	inits := func(stderr string) (pkgs []string) {
		for _, line := range strings.Split(stderr, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
				pkgs = append(pkgs, f[1])
			}
		}
		return pkgs
	}
	trace := []string{"GODEBUG=inittrace=1"}
	script := []string{"sh", "-c", "echo out; echo err >&2; exit 3"}
	for _, c := range []struct {
		name   string
		prefix []string
		fast   bool
	}{{"fast path", nil, true}, {"CLI", []string{"--log-level", "warn"}, false}} {
		r := e.runEnv(trace, append(append(c.prefix, "exec", "h1", "--"), script...)...)
		if r.code != 3 || r.stdout != "out\n" || !strings.Contains(r.stderr, "err\n") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", c.name, r.code, r.stdout, r.stderr)
		}
		pkgs := inits(r.stderr)
		thirdParty := slices.ContainsFunc(pkgs, func(p string) bool { return strings.HasPrefix(p, "github.com/") })
		if len(pkgs) == 0 || thirdParty == c.fast {
			t.Errorf("%s: initialisers that ran: %v", c.name, pkgs)
		}
		r = e.run(append(append(c.prefix, "exec", "h1", "--"), "no-such-command")...)
		if r.code != 127 || !strings.Contains(r.stderr, "no-such-command") {
			t.Errorf("%s: not found: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
	}
	// Left to the CLI, which says why: no such node, not a node name.
	if r := e.run("exec", "nosuch", "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "no node nosuch") {
		t.Errorf("missing node: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := e.run("exec", "..", "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "not a node name") {
		t.Errorf("bad name: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestBadTopologyChangesNothing: an invalid file exits 2 with located errors.
func TestBadTopologyChangesNothing(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("bad.yaml", "name: bad\nnodes:\n  h1:\n    interfaces: {eth0: nosuchbridge}\n    colour: red\n")
	r := e.run("deploy", topo)
	if r.code != 2 {
		t.Fatalf("deploy bad topology: exit %d, want 2\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, topo+":4:") || !strings.Contains(r.stderr, topo+":5:") {
		t.Errorf("errors not located at lines 4 and 5:\n%s", r.stderr)
	}
}

// TestDeployExistingLabFailsUnlessReconfigure.
func TestDeployExistingLabFailsUnlessReconfigure(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("again.yaml", topoNamed("again"))
	e.must("deploy", topo)
	if r := e.run("deploy", topo); r.code != 1 || !strings.Contains(r.stderr, "already deployed") {
		t.Errorf("second deploy: exit %d: %s", r.code, r.stderr)
	}
	e.must("deploy", "--reconfigure", topo)
	e.must("exec", "again/h1", "--", "ping", "-c", "1", "-W", "2", "h2")
	e.must("destroy", "--lab", "again")
}

// TestDestroyAfterTopologyDeletedAndNodeDead: destroy needs only the state.
func TestDestroyAfterTopologyDeletedAndNodeDead(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("gone.yaml", topoNamed("gone"))
	e.must("deploy", topo)
	var view struct{ Nodes []struct{ Pid int } }
	json.Unmarshal([]byte(e.must("inspect", "--lab", "gone", "--format", "json")), &view)
	syscall.Kill(view.Nodes[0].Pid, syscall.SIGKILL)
	waitFor(t, "node init to die", 5*time.Second, func() bool {
		return strings.Contains(e.must("inspect", "--lab", "gone"), "exited")
	})
	os.Remove(topo)
	e.must("destroy", "--lab", "gone")
}

// TestDestroyWithGarbageState: a corrupt state file still destroys everything.
func TestDestroyWithGarbageState(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("junk.yaml", topoNamed("junk"))
	e.must("deploy", topo)
	if err := os.WriteFile(filepath.Join(e.root, "labs", "junk", "state.json"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must("destroy", "--lab", "junk")
}

// TestFaultAtEveryStep kills deploy at each step boundary; destroy then
// returns the host to its prior state (checked by the env's snapshot).
func TestFaultAtEveryStep(t *testing.T) {
	for _, step := range []string{"record plan", "prepare images", "write hosts", "create bridges", "start nodes", "record state", "register netns", "create links", "configure nodes"} {
		t.Run(strings.ReplaceAll(step, " ", "_"), func(t *testing.T) {
			e := newEnv(t)
			topo := e.writeTopo("fault.yaml", "name: fault\nbridges: {lan: {nat: true}}\nnodes:\n  a: {interfaces: {eth0: lan}}\n  b: {interfaces: {eth0: lan}}\nlinks:\n  - endpoints: [a:eth1, b:eth1]\n")
			r := e.runEnv([]string{"LEOLAB_FAULT_AT=" + step}, "deploy", topo)
			if r.code != 128+int(syscall.SIGKILL) {
				t.Fatalf("deploy with fault at %q: exit %d, want killed\n%s", step, r.code, r.stderr)
			}
			e.must("destroy", "--lab", "fault")
		})
	}
}

// TestConcurrentDeploysOfOneLab: one wins, the other fails fast as locked.
func TestConcurrentDeploysOfOneLab(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("race.yaml", topoNamed("race"))
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = e.run("deploy", topo) }()
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.code == 0:
			ok++
		case strings.Contains(r.stderr, "locked") || strings.Contains(r.stderr, "already deployed"):
		default:
			t.Errorf("loser failed for another reason: exit %d: %s", r.code, r.stderr)
		}
	}
	if ok != 1 {
		t.Errorf("%d deploys succeeded, want exactly 1", ok)
	}
	e.must("destroy", "--lab", "race")
}

// TestParallelLabsGetDistinctSubnets deploys several labs at once.
func TestParallelLabsGetDistinctSubnets(t *testing.T) {
	e := newEnv(t)
	names := []string{"par1", "par2", "par3", "par4"}
	var wg sync.WaitGroup
	for _, n := range names {
		topo := e.writeTopo(n+".yaml", topoNamed(n))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.run("-q", "deploy", topo); r.code != 0 {
				t.Errorf("deploy %s: %s", n, r.stderr)
			}
		}()
	}
	wg.Wait()
	var all []struct {
		Name    string
		Bridges []struct{ Subnet string }
	}
	json.Unmarshal([]byte(e.must("inspect", "--all", "--format", "json")), &all)
	seen := map[string]string{}
	for _, l := range all {
		for _, b := range l.Bridges {
			if other, dup := seen[b.Subnet]; dup {
				t.Errorf("labs %s and %s share subnet %s", other, l.Name, b.Subnet)
			}
			seen[b.Subnet] = l.Name
		}
	}
	if len(all) != len(names) {
		t.Errorf("inspect --all shows %d labs, want %d", len(all), len(names))
	}
	e.must("destroy", "--all")
}

// TestSIGINTMidDeployRollsBack interrupts a deploy while nodes start.
func TestSIGINTMidDeployRollsBack(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("name: sigint\nbridges: {lan: {}}\nnodes:\n")
	for i := 0; i < 30; i++ {
		b.WriteString("  n" + strconv.Itoa(i) + ": {interfaces: {eth0: lan}}\n")
	}
	topo := e.writeTopo("sigint.yaml", b.String())
	cmd := exec.Command(binary, "--root", e.root, "deploy", "--max-workers", "1", topo)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deploy to start nodes", 20*time.Second, func() bool {
		return strings.Contains(stderr.String(), "started")
	})
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if err == nil {
		t.Fatalf("interrupted deploy exited 0")
	}
	if _, err := os.Stat(filepath.Join(e.root, "labs", "sigint")); !os.IsNotExist(err) {
		t.Errorf("lab dir still there after rollback (%v)\n%s", err, stderr.String())
	}
}

// syncBuffer is a bytes buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCleanupSweepsOrphans: resources whose lab directory vanished (a root
// wiped by hand) are found by name and removed by destroy --all --cleanup.
func TestCleanupSweepsOrphans(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("orphan.yaml", "name: orphan\nbridges: {lan: {nat: true}}\nnodes:\n  a: {interfaces: {eth0: lan}}\n  b: {interfaces: {eth0: lan}}\n")
	e.must("deploy", topo)
	if err := os.RemoveAll(filepath.Join(e.root, "labs", "orphan")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.root, "locks", "orphan.lock"))
	// A chain left alone, with no other trace of its lab (as after a crash
	// between the last link removal and the chain's).
	for _, args := range [][]string{{"-t", "filter", "-N", "LEOLAB-0DDBA1"}, {"-t", "filter", "-I", "FORWARD", "-j", "LEOLAB-0DDBA1"}} {
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v: %v %s", args, err, out)
		}
	}
	e.must("destroy", "--all") // knows no lab: must not fail, must not be enough
	e.must("destroy", "--all", "--cleanup")
	if exec.Command("iptables", "-t", "filter", "-S", "LEOLAB-0DDBA1").Run() == nil {
		t.Error("orphan chain LEOLAB-0DDBA1 survived destroy --all --cleanup")
	}
}

// TestCleanupSparesLabsOfAnotherRoot: destroy --all --cleanup under one
// --root leaves a running lab deployed under another root alone.
func TestCleanupSparesLabsOfAnotherRoot(t *testing.T) {
	e := newEnv(t)
	other := &env{t: t, root: t.TempDir()}
	topo := e.writeTopo("elsewhere.yaml", topoNamed("elsewhere"))
	other.must("deploy", topo)
	defer other.must("destroy", "--lab", "elsewhere")
	e.must("destroy", "--all", "--cleanup")
	other.must("exec", "elsewhere/h1", "--", "ping", "-c", "1", "-W", "2", "h2")
}

// TestExecForwardsSignalsAndHangup: SIGINT to `leolab exec` reaches the
// command inside the node (a shell's trap runs and sets the exit status),
// and a client killed outright makes the node's init kill the command.
func TestExecForwardsSignalsAndHangup(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("sigs.yaml", topoNamed("sigs"))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "sigs")

	script := `trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done`
	cmd := exec.Command(binary, "--root", e.root, "exec", "h1", "--", "sh", "-c", script)
	out := &syncBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command to start", 10*time.Second, func() bool { return strings.Contains(out.String(), "ready") })
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 || !strings.Contains(out.String(), "got INT") {
		t.Errorf("SIGINT: %v, output %q; want exit 7 after the trap ran", err, out.String())
	}

	hang := exec.Command(binary, "--root", e.root, "exec", "h1", "--", "sh", "-c", "echo ready; exec sleep 1000")
	hout := &syncBuffer{}
	hang.Stdout = hout
	if err := hang.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sleep to start", 10*time.Second, func() bool { return strings.Contains(hout.String(), "ready") })
	hang.Process.Kill()
	hang.Wait()
	waitFor(t, "the node's sleep to be killed", 10*time.Second, func() bool {
		r := e.run("exec", "h1", "--", "sh", "-c", "ps | grep -v grep | grep -q 'sleep 1000'")
		return r.code == 1
	})
}
