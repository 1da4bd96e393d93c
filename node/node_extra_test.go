//go:build linux

package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"leolab/internal/nstest"
	"leolab/internal/spec/mountspec"
	"leolab/topology"
)

func TestUserNamespace(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "u1")
	spec.UserNamespace = true
	spec.UIDBase = 200000
	p := startNode(t, spec)
	if got := strings.Fields(sh(t, spec, "cat /proc/self/uid_map")); strings.Join(got, " ") != "0 200000 65536" {
		t.Errorf("uid_map %v", got)
	}
	if got := strings.Fields(sh(t, spec, "cat /proc/self/gid_map")); strings.Join(got, " ") != "0 200000 65536" {
		t.Errorf("gid_map %v", got)
	}
	// The idmapped root: the node's root owns its files and can write /etc.
	if got := strings.TrimSpace(sh(t, spec, "ls -ln /bin/busybox | while read m l u g r; do echo $u; done")); got != "0" {
		t.Errorf("busybox owner inside node %q", got)
	}
	sh(t, spec, "echo hi > /etc/new && id -u")
	st, err := os.Stat(filepath.Join(spec.Root, "etc/new"))
	if err != nil {
		t.Fatal(err)
	}
	// Through the idmapped mount the node's root writes as on-disk uid 0.
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("file written by node root is owned on disk by %d", uid)
	}
	// Host view: init runs as the mapped uid.
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status")
	if !strings.Contains(string(status), "Uid:\t200000") {
		t.Errorf("init's host uid:\n%s", status)
	}
	sh(t, spec, "ip link add v0 type veth peer name v1")
}

func TestPidsLimit(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "f1")
	spec.Limits = topology.Limits{Pids: 20, MemoryBytes: 64 << 20, CPUs: 0.5}
	p := startNode(t, spec)
	if len(p.Cgroups) == 0 {
		t.Fatal("no cgroups created")
	}
	for _, d := range p.Cgroups {
		procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil || !strings.Contains(string(procs), strconv.Itoa(p.Pid)) {
			t.Errorf("init %d not in %s: %q %v", p.Pid, d, procs, err)
		}
	}
	// A fork bomb bounded by the test: 100 sleepers, only ~20 may exist.
	r := run(t, spec, "", "sh", "-c", "for i in $(seq 100); do sleep 1000 >/dev/null 2>&1 & done")
	if !strings.Contains(r.stderr, "fork") && !strings.Contains(r.stderr, "resource") {
		t.Errorf("no fork failure reported: %+v", r)
	}
	// Seen from the host: the limit held and was hit.
	for _, d := range p.Cgroups {
		if !strings.Contains(d, "/pids/") && !strings.HasSuffix(filepath.Dir(filepath.Dir(filepath.Dir(d))), "unified") {
			continue
		}
		max := 20
		if strings.Contains(d, "/pids/") {
			// v1: the node's processes and init's spawning thread are in
			// procs (limit 20 + that thread); init's other threads are not.
			d, max = filepath.Join(d, procsCgroup), 21
			checkOnlySpawnerOfInit(t, d, p.Pid)
		}
		cur, _ := os.ReadFile(filepath.Join(d, "pids.current"))
		if n, err := strconv.Atoi(strings.TrimSpace(string(cur))); err != nil || n > max {
			t.Errorf("pids.current %q, want at most %d", cur, max)
		}
		ev, _ := os.ReadFile(filepath.Join(d, "pids.events"))
		if !strings.HasPrefix(string(ev), "max ") || strings.HasPrefix(string(ev), "max 0") {
			t.Errorf("pids.events %q", ev)
		}
	}
	// The host still forks fine.
	if err := exec0("/bin/true"); err != nil {
		t.Errorf("host cannot fork: %v", err)
	}
}

// checkOnlySpawnerOfInit: of init's threads, exactly one (the spawner) is
// in the pids-limited cgroup dir.
func checkOnlySpawnerOfInit(t *testing.T, dir string, initPid int) {
	t.Helper()
	tasks, err := os.ReadFile(filepath.Join(dir, "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	inLimit := map[string]bool{}
	for _, f := range strings.Fields(string(tasks)) {
		inLimit[f] = true
	}
	threads, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", initPid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, th := range threads {
		if inLimit[th.Name()] {
			n++
		}
	}
	if n != 1 || len(threads) < 2 {
		t.Errorf("%d of init's %d threads in %s, want exactly its spawner", n, len(threads), dir)
	}
}

func exec0(path string) error {
	p, err := os.StartProcess(path, []string{path}, &os.ProcAttr{})
	if err != nil {
		return err
	}
	_, err = p.Wait()
	return err
}

func TestRefuseSymlinkProc(t *testing.T) {
	nstest.RequireRoot(t)
	for _, d := range []string{"proc", "sys", "dev"} {
		spec := newSpec(t, "s1")
		os.Remove(filepath.Join(spec.Root, d))
		if err := os.Symlink("/", filepath.Join(spec.Root, d)); err != nil {
			t.Fatal(err)
		}
		p, err := Start(context.Background(), spec)
		if err == nil {
			Stop(p.Pid, p.StartTime, time.Second)
			t.Fatalf("/%s symlink accepted", d)
		}
		if !strings.Contains(err.Error(), "/"+d+" is a symlink") {
			t.Errorf("error %v", err)
		}
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids/leolab", spec.Lab, spec.Name)); err == nil {
			t.Errorf("cgroup left after failed start")
		}
	}
}

func TestBindsAndRootMounts(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "b1")
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "f"), []byte("from host\n"), 0o644)
	spec.Binds = []topology.Bind{
		{Source: host, Target: "/data/ro", ReadOnly: true},
		{Source: filepath.Join(host, "f"), Target: "/etc/f"},
	}
	// Overlay root the way rootfs describes it: image read-only below, node layer above.
	lower := spec.Root
	layer := overlayRoot(t, &spec, lower)
	startNode(t, spec)
	if got := sh(t, spec, "cat /data/ro/f /etc/f"); got != "from host\nfrom host\n" {
		t.Errorf("binds: %q", got)
	}
	if r := run(t, spec, "", "sh", "-c", "echo x > /data/ro/g"); r.code == 0 {
		t.Errorf("read-only bind writable")
	}
	sh(t, spec, "echo x > /root/new")
	if _, err := os.Stat(filepath.Join(layer, "upper/root/new")); err != nil {
		t.Errorf("write did not land in the overlay's upper dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(lower, "root/new")); err == nil {
		t.Errorf("write reached the image")
	}
}

func TestPrivileged(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "p1")
	spec.Privileged = true
	startNode(t, spec)
	sh(t, spec, "mount -t tmpfs x /tmp")
}

func TestCloseBeforeReleaseAndSigterm(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "c1")
	p, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if !waitGone(p.Pid, p.StartTime, 10*time.Second) {
		t.Errorf("init survived losing its parent before Release")
	}
	RemoveCgroups(spec.Lab, spec.Name)

	// cmd traps SIGTERM forwarded by init and leaves a mark on a bind.
	spec = newSpec(t, "c2")
	mark := t.TempDir()
	spec.Binds = []topology.Bind{{Source: mark, Target: "/mark"}}
	spec.Cmd = []string{"sh", "-c", "trap 'echo term > /mark/x; exit 0' TERM; echo > /mark/ready; while true; do sleep 0.05; done"}
	p = startNode(t, spec)
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(mark, "ready")); err == nil {
			break
		}
		if i == 200 {
			t.Fatalf("cmd never started:\n%s", consoleLog(spec))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := Stop(p.Pid, p.StartTime, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(mark, "x")); string(b) != "term\n" {
		t.Errorf("cmd did not get SIGTERM: %q\n%s", b, consoleLog(spec))
	}
}

func TestSocketPathTooLong(t *testing.T) {
	spec := Spec{Name: "x", Root: "/r", StateDir: "/s", Socket: "/" + strings.Repeat("a", 120)}
	if _, err := Start(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "107") {
		t.Errorf("long socket path: %v", err)
	}
}

// TestRootMountFailureIsMarked: when the root filesystem itself cannot be
// mounted, Start's error is ErrRootMount (so deploy can fall back to a
// copy), and nothing of the node is left.
func TestRootMountFailureIsMarked(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "rm1")
	layer := overlayRoot(t, &spec, filepath.Join(t.TempDir(), "missing"))
	p, err := Start(context.Background(), spec)
	if err == nil {
		Stop(p.Pid, p.StartTime, time.Second)
		RemoveCgroups(spec.Lab, spec.Name)
		t.Fatal("Start with an unmountable root succeeded")
	}
	if !errors.Is(err, ErrRootMount) {
		t.Errorf("error %v is not ErrRootMount", err)
	}
	// A failure elsewhere (a bind of a missing host path) is not.
	spec2 := newSpec(t, "rm2")
	spec2.Binds = []topology.Bind{{Source: filepath.Join(layer, "missing"), Target: "/x"}}
	if _, err := Start(context.Background(), spec2); err == nil || errors.Is(err, ErrRootMount) {
		t.Errorf("bind failure: err %v (ErrRootMount: %v)", err, errors.Is(err, ErrRootMount))
	}
}

// TestInitSurvivesPidsExhaustion: a node that fills its pids limit must
// keep its init: execs while the limit is hit fail with a clear status, the
// bomb's shell exiting (a SIGCHLD to init) is handled, and once the
// processes are gone the node works again. Were init's threads inside the
// limit, its runtime would abort when it needed one more (it failed about
// one run in three that way). Three rounds, as the window is narrow.
func TestInitSurvivesPidsExhaustion(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "fb")
	// Half a CPU: throttling stretches the windows in which init's runtime
	// wants a thread.
	spec.Limits = topology.Limits{Pids: 20, CPUs: 0.5}
	p := startNode(t, spec)
	for round := 1; round <= 3; round++ {
		script := "for i in $(seq 100); do sleep 1000 >/dev/null 2>&1 & done"
		if _, err := Exec(context.Background(), spec.Socket, ExecOptions{Argv: []string{"sh", "-c", script}}); err != nil {
			t.Fatalf("round %d, fork bomb's exec: %v\n%s", round, err, consoleLog(spec))
		}
		for i := 0; i < 10; i++ {
			// Either runs or reports that it could not fork (126); never a lost connection.
			code, err := Exec(context.Background(), spec.Socket, ExecOptions{Argv: []string{"true"}})
			if err != nil {
				t.Fatalf("round %d, exec %d at the pids limit: %v\n%s", round, i, err, consoleLog(spec))
			}
			if code != 0 && code != 126 {
				t.Errorf("round %d, exec %d: exit %d, want 0 or 126", round, i, code)
			}
		}
		if !alive(p.Pid, p.StartTime) {
			t.Fatalf("round %d: init died at the pids limit:\n%s", round, consoleLog(spec))
		}
		// The node cannot fork even a kill now: end its processes from the host.
		killAllBut(t, p)
		waitForExec(t, spec)
	}
}

// killAllBut SIGKILLs every process of the node's cgroups except its init.
func killAllBut(t *testing.T, p *Process) {
	t.Helper()
	for _, d := range p.Cgroups {
		procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(string(procs)) {
			if pid, _ := strconv.Atoi(f); pid > 1 && pid != p.Pid {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// waitForExec retries `true` until the node can fork again.
func waitForExec(t *testing.T, spec Spec) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, err := Exec(context.Background(), spec.Socket, ExecOptions{Argv: []string{"true"}})
		if err == nil && code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not recover: code %d, %v\n%s", code, err, consoleLog(spec))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// overlayRoot makes spec's root an overlay of lower, the way rootfs
// describes one: lower read-only below, a fresh node layer (returned) above.
func overlayRoot(t *testing.T, spec *Spec, lower string) string {
	t.Helper()
	layer := t.TempDir()
	for _, d := range []string{"upper", "work", "merged"} {
		os.Mkdir(filepath.Join(layer, d), 0o755)
	}
	spec.Root = filepath.Join(layer, "merged")
	spec.RootMounts = []mountspec.Mount{{
		Source: "overlay", FSType: "overlay",
		Data: "lowerdir=" + lower + ",upperdir=" + layer + "/upper,workdir=" + layer + "/work",
	}}
	return layer
}
