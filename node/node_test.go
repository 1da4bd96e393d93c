//go:build linux

package node

import (
	"bytes"
	"context"
	"fmt"
	"leolab/internal/nstest"
	"leolab/internal/spec/nodespec"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leolab/topology"
)

func TestMain(m *testing.M) {
	MaybeRunInit()
	os.Exit(m.Run())
}

var applets = []string{
	"sh", "ps", "hostname", "cat", "ls", "ip", "mount", "mknod", "ping", "sleep",
	"id", "sysctl", "grep", "tty", "seq", "wc", "true", "echo", "kill", "readlink", "test", "pidof",
}

// busyboxRoot builds a tiny root: /bin/busybox plus applet links.
func busyboxRoot(t testing.TB) string {
	t.Helper()
	src, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no /bin/busybox: %v", err)
	}
	dir := t.TempDir()
	// A user-namespaced init (an unprivileged host uid) must traverse to the root.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newSpec returns a spec for a node named name with fresh dirs.
func newSpec(t testing.TB, name string) Spec {
	t.Helper()
	state, err := os.MkdirTemp("", "ll")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	lab := fmt.Sprintf("t%d", os.Getpid())
	return Spec{
		Lab: lab, Name: name, Hostname: name,
		StateDir: state, Root: busyboxRoot(t),
		Socket: filepath.Join(state, "ctl.sock"),
		Hosts:  "127.0.0.1 localhost\n10.0.0.1 " + name + "\n",
		Env:    []string{"FOO=bar"},
	}
}

// startNode starts and releases a node, and stops it (checking for leaks) at cleanup.
func startNode(t testing.TB, spec Spec) *Process {
	t.Helper()
	ctx := context.Background()
	p, err := Start(ctx, spec)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, consoleLog(spec))
	}
	t.Cleanup(func() { stopAndCheck(t, spec, p) })
	if err := p.Release(ctx); err != nil {
		t.Fatalf("release: %v\n%s", err, consoleLog(spec))
	}
	p.Close()
	return p
}

func consoleLog(spec Spec) string {
	b, _ := os.ReadFile(filepath.Join(spec.StateDir, "console.log"))
	return string(b)
}

func stopAndCheck(t testing.TB, spec Spec, p *Process) {
	t.Helper()
	if err := Stop(p.Pid, p.StartTime, 5*time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := RemoveCgroups(spec.Lab, spec.Name); err != nil {
		t.Errorf("remove cgroups: %v", err)
	}
	if alive(p.Pid, p.StartTime) {
		t.Errorf("init %d still alive after Stop", p.Pid)
	}
	for _, d := range p.Cgroups {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left behind", d)
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), spec.Root) {
		t.Errorf("host mountinfo still mentions %s", spec.Root)
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, spec Spec, stdin string, argv ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := Exec(context.Background(), spec.Socket, ExecOptions{
		Argv: argv, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
	})
	if err != nil {
		t.Fatalf("exec %q: %v\n%s", argv, err, consoleLog(spec))
	}
	return result{code, out.String(), errb.String()}
}

// sh runs a shell snippet in the node and requires it to succeed.
func sh(t *testing.T, spec Spec, script string) string {
	t.Helper()
	r := run(t, spec, "", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("sh -c %q: exit %d, stderr %q", script, r.code, r.stderr)
	}
	return r.stdout
}

func TestIsolation(t *testing.T) {
	nstest.RequireRoot(t)
	spec := newSpec(t, "n1")
	spec.Sysctls = []topology.Sysctl{{Key: "net.ipv4.ip_forward", Value: "1"}}
	spec.Cmd = []string{"sleep", "1000"}
	startNode(t, spec)

	t.Run("hostname", func(t *testing.T) {
		if got := strings.TrimSpace(sh(t, spec, "hostname")); got != "n1" {
			t.Errorf("hostname %q", got)
		}
		if got := sh(t, spec, "cat /etc/hostname /etc/hosts"); !strings.Contains(got, "10.0.0.1 n1") {
			t.Errorf("etc files: %q", got)
		}
	})
	t.Run("pid1 and process list", func(t *testing.T) {
		if got := strings.TrimSpace(sh(t, spec, "cat /proc/1/comm")); got != "exe" && got != "node.test" {
			t.Logf("pid 1 comm %q", got)
		}
		cmdline := sh(t, spec, "cat /proc/1/cmdline")
		if !strings.HasPrefix(cmdline, "leolab-init") {
			t.Errorf("pid 1 cmdline %q", cmdline)
		}
		// init, cmd's sleep and the shell running ps: nothing of the host.
		ps := sh(t, spec, "ps -o pid,args")
		lines := strings.Split(strings.TrimSpace(ps), "\n")[1:]
		if len(lines) != 3 || !strings.Contains(lines[0], "leolab-init") || !strings.Contains(lines[1], "sleep 1000") {
			t.Errorf("process list:\n%s", ps)
		}
	})
	t.Run("mountinfo", func(t *testing.T) {
		mi := sh(t, spec, "cat /proc/self/mountinfo")
		for _, l := range strings.Split(strings.TrimSpace(mi), "\n") {
			f := strings.Fields(l)
			if len(f) > 4 && (strings.Contains(f[4], "/work") || strings.HasPrefix(f[4], "/tmp/") || f[4] == "/sys/fs/cgroup") {
				t.Errorf("host path mounted in node: %s", l)
			}
		}
		if strings.Contains(mi, spec.StateDir) {
			t.Errorf("control socket dir visible in node:\n%s", mi)
		}
	})
	t.Run("capabilities", func(t *testing.T) {
		st := sh(t, spec, "grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs)' /proc/self/status")
		last, err := lastCap()
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%016x", keptCapMask(nodespec.Caps{}, last))
		for _, k := range []string{"CapEff", "CapBnd", "CapPrm"} {
			if !strings.Contains(st, k+":\t"+want) {
				t.Errorf("%s not %s:\n%s", k, want, st)
			}
		}
		if !strings.Contains(st, "NoNewPrivs:\t1") {
			t.Errorf("no_new_privs not set:\n%s", st)
		}
		init := sh(t, spec, "grep CapBnd /proc/1/status")
		if !strings.Contains(init, want) {
			t.Errorf("init bounding set %q", init)
		}
	})
	t.Run("masked paths", func(t *testing.T) {
		if out := sh(t, spec, "cat /proc/kcore /proc/keys /proc/timer_list | wc -c"); strings.TrimSpace(out) != "0" {
			t.Errorf("masked files readable: %s bytes", out)
		}
		if r := run(t, spec, "", "sh", "-c", "echo h > /proc/sysrq-trigger"); r.code == 0 {
			t.Errorf("sysrq-trigger writable")
		}
		if r := run(t, spec, "", "sh", "-c", "echo 1 > /proc/sys/kernel/sysrq"); r.code == 0 {
			t.Errorf("/proc/sys/kernel writable")
		}
	})
	t.Run("mount denied", func(t *testing.T) {
		if r := run(t, spec, "", "mount", "-t", "tmpfs", "x", "/tmp"); r.code == 0 {
			t.Errorf("mount -t tmpfs succeeded")
		}
	})
	t.Run("net admin", func(t *testing.T) {
		// (this kernel has no dummy driver; a veth pair needs NET_ADMIN just the same)
		sh(t, spec, "ip link add v0 type veth peer name v1 && ip link set v0 up")
		links := sh(t, spec, "ls /sys/class/net")
		// busybox ip names the peer veth0 whatever we ask for.
		if got := strings.Join(strings.Fields(links), " "); got != "lo v0 veth0" && got != "lo v0 v1" {
			t.Errorf("node /sys/class/net: %q", links)
		}
	})
	t.Run("sysctl per node", func(t *testing.T) {
		host, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		node := sh(t, spec, "cat /proc/sys/net/ipv4/ip_forward")
		if strings.TrimSpace(node) != "1" {
			t.Errorf("node ip_forward %q", node)
		}
		if strings.TrimSpace(string(host)) == "1" {
			t.Logf("host ip_forward is 1 too; writing 0 in the node")
		}
		sh(t, spec, "echo 0 > /proc/sys/net/ipv4/ip_forward")
		host2, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		if !bytes.Equal(host, host2) {
			t.Errorf("node sysctl changed the host's: %q → %q", host, host2)
		}
	})
	t.Run("exit codes", func(t *testing.T) {
		for _, c := range []struct {
			argv []string
			want int
		}{
			{[]string{"true"}, 0},
			{[]string{"sh", "-c", "exit 7"}, 7},
			{[]string{"/bin/noexec"}, 126},
			{[]string{"noexec"}, 126},
			{[]string{"/tmp"}, 126},
			{[]string{"nosuchcmd"}, 127},
			{[]string{"/bin/nosuch"}, 127},
			{[]string{"sh", "-c", "kill -9 $$"}, 137},
		} {
			if r := run(t, spec, "", c.argv...); r.code != c.want {
				t.Errorf("%q: exit %d, want %d (stderr %q)", c.argv, r.code, c.want, r.stderr)
			}
		}
	})
	t.Run("env", func(t *testing.T) {
		out := sh(t, spec, "echo $FOO $HOME $PATH")
		if out != "bar /root "+defaultPath+"\n" {
			t.Errorf("env %q", out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		if r := run(t, spec, "hello\nworld\n", "cat"); r.stdout != "hello\nworld\n" || r.code != 0 {
			t.Errorf("cat: %+v", r)
		}
	})
	t.Run("fds", func(t *testing.T) {
		// ls itself holds fd 3 (the directory it lists).
		out := strings.Fields(sh(t, spec, "exec ls /proc/self/fd"))
		if strings.Join(out, " ") != "0 1 2 3" {
			t.Errorf("fds of an exec'd command: %v", out)
		}
		out = strings.Fields(sh(t, spec, "ls /proc/$(pidof sleep)/fd"))
		if strings.Join(out, " ") != "0 1 2" {
			t.Errorf("fds of cmd: %v", out)
		}
	})
	t.Run("pty", func(t *testing.T) {
		var out bytes.Buffer
		code, err := Exec(context.Background(), spec.Socket, ExecOptions{Argv: []string{"tty"}, Tty: true, Stdout: &out})
		if err != nil || code != 0 {
			t.Fatalf("tty: %d %v", code, err)
		}
		if strings.TrimSpace(out.String()) != "/dev/pts/0" {
			t.Errorf("tty printed %q", out.String())
		}
	})
	t.Run("proc exe", func(t *testing.T) {
		if r := run(t, spec, "", "sh", "-c", "cat /proc/1/exe > /dev/null"); r.code == 0 {
			t.Errorf("/proc/1/exe readable from the node")
		}
		if r := run(t, spec, "", "readlink", "/proc/1/exe"); r.code == 0 {
			t.Errorf("/proc/1/exe link readable: %q", r.stdout)
		}
	})
	t.Run("zombies", func(t *testing.T) {
		sh(t, spec, "for i in $(seq 100); do (sleep 0 &) ; done")
		for i := 0; ; i++ {
			z := sh(t, spec, "grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l")
			if strings.TrimSpace(z) == "0" {
				break
			}
			if i == 100 {
				t.Fatalf("%s zombies remain", z)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("concurrent execs", func(t *testing.T) {
		errs := make(chan string, 8)
		for i := 0; i < 8; i++ {
			go func() {
				var out bytes.Buffer
				code, err := Exec(context.Background(), spec.Socket, ExecOptions{Argv: []string{"sh", "-c", "sleep 0.2; echo ok"}, Stdout: &out})
				if err != nil || code != 0 || out.String() != "ok\n" {
					errs <- fmt.Sprintf("%d %v %q", code, err, out.String())
					return
				}
				errs <- ""
			}()
		}
		for i := 0; i < 8; i++ {
			if e := <-errs; e != "" {
				t.Error(e)
			}
		}
	})
}
