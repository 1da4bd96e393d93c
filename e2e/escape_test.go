//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// escapeLab is one running unprivileged node shared by the escape cases.
type escapeLab struct {
	e    *env
	init int // host pid of the node's init
}

func newEscapeLab(t *testing.T, lab string) *escapeLab {
	e := newEnv(t)
	topo := e.writeTopo("esc.yaml", "name: "+lab+"\nbridges: {lan: {}}\nnodes:\n  n1:\n    interfaces: {eth0: lan}\n    cmd: [sleep, \"100000\"]\n")
	e.must("deploy", topo)
	t.Cleanup(func() { e.must("destroy", "--lab", lab) })
	return &escapeLab{e: e, init: e.pids(lab)["n1"]}
}

// sh runs a shell script in the node and returns its result.
func (l *escapeLab) sh(script string) result {
	return l.e.run("exec", "n1", "--", "sh", "-c", script)
}

// pids maps each node of lab to its init's host pid.
func (e *env) pids(lab string) map[string]int {
	e.t.Helper()
	var view struct {
		Nodes []struct {
			Name string
			Pid  int
		}
	}
	if err := json.Unmarshal([]byte(e.must("inspect", "--lab", lab, "--format", "json")), &view); err != nil {
		e.t.Fatalf("inspect json: %v", err)
	}
	out := map[string]int{}
	for _, n := range view.Nodes {
		out[n.Name] = n.Pid
	}
	return out
}

// TestNodeCannotReachKernelOrHost: from inside an unprivileged node, the
// kernel's memory, sysrq, mount, module loading, the host's processes and
// the host's paths are all out of reach.
func TestNodeCannotReachKernelOrHost(t *testing.T) {
	l := newEscapeLab(t, "rlesc")
	denied := []struct{ name, script string }{
		{"read_proc_kcore", "test \"$(head -c 16 /proc/kcore | wc -c)\" -gt 0"},
		{"write_sysrq_trigger", "echo h > /proc/sysrq-trigger"},
		{"mount_tmpfs", "mkdir -p /m && mount -t tmpfs x /m"},
		{"bind_mount_root", "mkdir -p /m && mount --bind / /m"},
		{"remount_proc_sys_rw", "mount -o remount,rw /proc/sys"},
		{"load_module", "echo garbage > /tmp/x.ko && insmod /tmp/x.ko"},
		{"write_kernel_sysctl", "echo 1 > /proc/sys/kernel/sysrq"},
		{"open_proc_1_root", "ls /proc/1/root/"},
		{"see_host_test_dir", "test -e " + l.e.root},
		{"see_host_work_tree", "test -e " + mustAbs("..") + "/go.mod"},
	}
	for _, d := range denied {
		if r := l.sh(d.script); r.code == 0 {
			t.Errorf("%s: allowed (%q)", d.name, r.stdout)
		}
	}
	out := l.sh("grep CapEff /proc/self/status").stdout
	capEff, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(out, "CapEff:")), 16, 64)
	for name, bit := range map[string]uint{"SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_PTRACE": 19} {
		if capEff&(1<<bit) != 0 {
			t.Errorf("node keeps CAP_%s (CapEff %s)", name, strings.TrimSpace(out))
		}
	}
	// Only the node's own processes are visible: init, its service, and us.
	procs := l.sh("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done").stdout
	for _, line := range strings.Split(strings.TrimSpace(procs), "\n") {
		if line != "" && !strings.HasPrefix(line, "leolab-init") && !strings.HasPrefix(line, "sleep") &&
			!strings.HasPrefix(line, "sh ") && !strings.HasPrefix(line, "tr ") {
			t.Errorf("node sees a foreign process: %q", line)
		}
	}
	if n := strings.Count(procs, "\n"); n > 6 {
		t.Errorf("node sees %d processes:\n%s", n, procs)
	}
}

// TestNodeMknodDeviceCannotBeOpened: a node keeps CAP_MKNOD (Docker's
// default set) and may create a device node, but nowhere it can write may
// the node open one: every writable filesystem of the node is nodev. The
// probe is /dev/zero's numbers (1,5), harmless, but any device would do.
func TestNodeMknodDeviceCannotBeOpened(t *testing.T) {
	l := newEscapeLab(t, "rlmknod")
	for _, dir := range []string{"/", "/root", "/tmp", "/dev/shm", "/dev"} {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			p := filepath.Join(dir, "probe-zero")
			r := l.sh(fmt.Sprintf("mkdir -p %s; mknod %s c 1 5 || exit 3; head -c 4 %s | wc -c", dir, p, p))
			if r.code == 3 {
				return // mknod itself denied: safe
			}
			if strings.TrimSpace(r.stdout) != "0" {
				t.Errorf("device node created in %s opens (read %s bytes)", dir, strings.TrimSpace(r.stdout))
			}
		})
	}
}

// TestNoLeakedFdsOrCwd: commands run by exec get stdin, stdout and stderr
// only; the service (cmd) likewise; init holds no host file of leolab's
// (state, locks, image directories) open; and a command's working
// directory is the node's "/" whatever the host caller's was.
func TestNoLeakedFdsOrCwd(t *testing.T) {
	l := newEscapeLab(t, "rlfds")
	fds := strings.Fields(l.sh("ls /proc/self/fd").stdout)
	for _, fd := range fds {
		if fd != "0" && fd != "1" && fd != "2" && fd != "3" { // 3: ls's own directory
			t.Errorf("exec'd command inherits fd %s (all: %v)", fd, fds)
		}
	}
	svc := l.sh("ls /proc/$(pidof sleep)/fd").stdout
	if got := strings.Fields(svc); len(got) != 3 {
		t.Errorf("service (cmd) has fds %v, want 0 1 2", got)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", l.init))
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", l.init, en.Name()))
		fi, err := os.Stat(fmt.Sprintf("/proc/%d/fd/%s", l.init, en.Name()))
		dir := err == nil && fi.IsDir()
		// Its console log (console.log, and console.log.1 it rotates into)
		// is all of the host init may hold: files, never a directory.
		isLog := strings.HasSuffix(target, "/console.log") || strings.HasSuffix(target, "/console.log.1")
		if dir || strings.HasPrefix(target, l.e.root) && !isLog {
			t.Errorf("init holds fd %s → %s open", en.Name(), target)
		}
	}
	cmd := exec.Command(binary, "--root", l.e.root, "exec", "n1", "--", "sh", "-c", "pwd; cd ..; pwd; readlink /proc/self/cwd")
	cmd.Dir = l.e.root // a host directory the node must not find itself in
	out, err := cmd.Output()
	if err != nil || string(out) != "/\n/\n/\n" {
		t.Errorf("cwd in node: %q, %v", out, err)
	}
	if root, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", l.init)); err != nil || !strings.HasPrefix(root, l.e.root) && root != "/" {
		t.Errorf("init's cwd is %q (%v), outside the node", root, err)
	}
}

// TestProcExeCannotOverwriteHostBinary: while the host runs `leolab exec`
// into the node in a loop, a node process keeps trying to open every
// /proc/*/exe for writing and to read the leolab binary through it
// (runc's CVE-2019-5736). The host binary's hash must not change and no
// open for writing may succeed.
func TestProcExeCannotOverwriteHostBinary(t *testing.T) {
	l := newEscapeLab(t, "rlexe")
	before := fileHash(t, binary)
	attack := `end=$(( $(date +%s) + 600 ))
while [ ! -e /tmp/stop ] && [ $(date +%s) -lt $end ]; do
  for p in /proc/[0-9]*; do
    if ( exec 3>>$p/exe ) 2>/dev/null; then echo "W $p" >> /tmp/hits; fi
    if ( exec 3<$p/exe ) 2>/dev/null; then md5sum < $p/exe | sed "s|^|R $p |" >> /tmp/hits 2>/dev/null; fi
  done
done`
	attacker := exec.Command(binary, "--root", l.e.root, "exec", "n1", "--", "sh", "-c", attack)
	if err := attacker.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				l.e.run("exec", "n1", "--", "true")
			}
		}()
	}
	wg.Wait()
	l.e.must("exec", "n1", "--", "touch", "/tmp/stop")
	attacker.Wait()
	if after := fileHash(t, binary); after != before {
		t.Fatalf("host leolab binary changed: %s → %s", before, after)
	}
	hits := l.e.run("exec", "n1", "--", "cat", "/tmp/hits").stdout
	md5 := md5Of(t, binary)
	for _, h := range strings.Split(strings.TrimSpace(hits), "\n") {
		if strings.HasPrefix(h, "W ") || strings.Contains(h, md5) {
			t.Errorf("node reached the host binary through /proc: %s", h)
		}
	}
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return fmt.Sprintf("%x", h.Sum(nil))
}

func md5Of(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("md5sum", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}
