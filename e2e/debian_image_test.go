//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianImage is the smallest useful Debian rootfs to build in a test.
const debianImage = "debian:bookworm+iproute2"

// needDebianBuilder skips without mmdebstrap or debootstrap (make test
// installs mmdebstrap).
func needDebianBuilder(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping a Debian image build")
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			t.Skip("neither mmdebstrap nor debootstrap installed (apt-get install mmdebstrap)")
		}
	}
}

// imageDirs lists the cache's entries: digests and .tmp-* dirs.
func imageDirs(t *testing.T, root string) (digests, temps []string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(root, "images"))
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-"):
			temps = append(temps, e.Name())
		case len(e.Name()) == 64:
			digests = append(digests, e.Name())
		}
	}
	return digests, temps
}

// TestDebianImageBuildAndCache: image build makes a Debian rootfs from the
// host's apt sources; image ls lists it with its packages; nodes on both
// forms of the same rootfs run it; deploys after the build build nothing
// (the published image, its meta and build log stay as they were).
func TestDebianImageBuildAndCache(t *testing.T) {
	needDebianBuilder(t)
	e := newEnv(t)
	out := e.must("image", "build", "debian:bookworm+iproute2+iproute2")
	if !strings.HasPrefix(out, debianImage+"\t") {
		t.Errorf("image build printed %q, want the image's one name first", out)
	}
	digests, temps := imageDirs(t, e.root)
	if len(digests) != 1 || len(temps) != 0 {
		t.Fatalf("cache after one build: digests %v, temps %v", digests, temps)
	}
	imgDir := filepath.Join(e.root, "images", digests[0])
	if list := e.must("image", "ls"); !strings.Contains(list, debianImage+"  ") || !strings.Contains(list, "MiB") {
		t.Errorf("image ls:\n%s", list)
	}
	for _, gone := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_Packages*"} {
		if m, _ := filepath.Glob(filepath.Join(imgDir, "rootfs", gone)); len(m) > 0 {
			t.Errorf("the image keeps apt's downloads: %v", m)
		}
	}
	stamp := func() string {
		var b strings.Builder
		for _, f := range []string{"", "meta.json", "build.log"} {
			fi, err := os.Stat(filepath.Join(imgDir, f))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			fmt.Fprintf(&b, "%s:%v:%d;", f, fi.ModTime(), st.Ino)
		}
		return b.String()
	}
	before := stamp()

	topo := e.writeTopo("imdeb.yaml", `name: imdeb
bridges: {lan: {}}
nodes:
  a: {rootfs: "debian:bookworm+iproute2", interfaces: {eth0: lan}}
  b:
    rootfs: {debian: bookworm, packages: [iproute2]}
    interfaces: {eth0: lan}
`)
	for i := 0; i < 2; i++ {
		e.must("deploy", topo)
		if out := e.must("exec", "a", "--", "ip", "-V"); !strings.Contains(out, "iproute2") {
			t.Errorf("ip -V in node a: %q", out)
		}
		if out := e.must("exec", "b", "--", "cat", "/etc/debian_version"); !strings.HasPrefix(out, "12") {
			t.Errorf("/etc/debian_version in node b: %q", out)
		}
		if out := e.must("exec", "b", "--", "ip", "-4", "-o", "addr", "show", "eth0"); !strings.Contains(out, "inet ") {
			t.Errorf("node b's eth0 has no address: %q", out)
		}
		e.must("destroy", "--lab", "imdeb")
	}
	if after := stamp(); after != before {
		t.Errorf("a deploy rebuilt the cached image:\n before %s\n after  %s", before, after)
	}
	if d, tmp := imageDirs(t, e.root); len(d) != 1 || len(tmp) != 0 {
		t.Errorf("cache after the deploys: digests %v, temps %v", d, tmp)
	}
}

// TestDebianBuildInterrupted: a build stopped by SIGINT removes its temp
// dir; one whose leolab is killed (SIGKILL) takes its builder with it and
// leaves only a temp dir, which the next run sweeps. Neither publishes.
func TestDebianBuildInterrupted(t *testing.T) {
	needDebianBuilder(t)
	e := newEnv(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		cmd := exec.Command(binary, "--root", e.root, "image", "build", debianImage)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the builder is at work (it has written to its log).
		waitFor(t, "the builder to start", 2*time.Minute, func() bool {
			logs, _ := filepath.Glob(filepath.Join(e.root, "images", ".tmp-*", "build.log"))
			if len(logs) == 0 {
				return false
			}
			b, _ := os.ReadFile(logs[0])
			return strings.Contains(string(b), "I: ")
		})
		cmd.Process.Signal(sig)
		if err := cmd.Wait(); err == nil {
			t.Fatalf("%v: the build succeeded", sig)
		}
		waitFor(t, "the builder to die", time.Minute, func() bool { return !builderRunning(e.root) })
		digests, temps := imageDirs(t, e.root)
		if len(digests) != 0 {
			t.Errorf("%v: an interrupted build published %v", sig, digests)
		}
		if sig == syscall.SIGINT && len(temps) != 0 {
			t.Errorf("SIGINT: temp dirs left: %v", temps)
		}
		if list := e.must("image", "ls"); strings.Contains(list, "debian:") {
			t.Errorf("%v: image ls lists a half image:\n%s", sig, list)
		}
	}
	e.must("image", "prune")
	if _, temps := imageDirs(t, e.root); len(temps) != 0 {
		t.Errorf("temp dirs left after the next run: %v", temps)
	}
}

// builderRunning reports whether any process still works under root (the
// builder's command line names its target there).
func builderRunning(root string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), root+"/images/") {
			return true
		}
	}
	return false
}

// TestDebianBuilderMissing: without mmdebstrap and debootstrap the build
// names the package to install and the cache holds nothing.
func TestDebianBuilderMissing(t *testing.T) {
	e := newEnv(t)
	r := e.runEnv([]string{"PATH=" + t.TempDir()}, "image", "build", debianImage)
	if r.code == 0 || !strings.Contains(r.stderr, "install the Debian package mmdebstrap (apt-get install mmdebstrap)") {
		t.Errorf("exit %d, stderr %q; want the package to install", r.code, r.stderr)
	}
	if d, tmp := imageDirs(t, e.root); len(d)+len(tmp) != 0 {
		t.Errorf("cache: %v %v", d, tmp)
	}
	if r := e.run("image", "build", "debian:Bookworm"); r.code != 2 || !strings.Contains(r.stderr, `Debian suite "Bookworm"`) {
		t.Errorf("bad name: exit %d, stderr %q; want exit 2 naming the suite", r.code, r.stderr)
	}
}

// imclabFile is a containerlab file with an FRR and an alpine image, on a
// management subnet of its own.
const imclabFile = `name: imclab
mgmt: {ipv4-subnet: 172.31.206.0/24}
topology:
  nodes:
    r1: {kind: linux, image: quay.io/frrouting/frr:v8.4.1}
    h1: {kind: linux, image: "IMAGE"}
  links:
    - endpoints: ["r1:eth1", "h1:eth1"]
`

// TestImageMappingClab: deploy --image maps a containerlab file's images
// to leolab root filesystems; no registry is asked.
func TestImageMappingClab(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("imclab.clab.yml", strings.Replace(imclabFile, "IMAGE", "alpine:3.20", 1))
	e.must("deploy", "--isolated", "--image", "quay.io/frrouting/frr:*=busybox", "--image", "alpine:3.20=busybox", topo)
	defer e.must("destroy", "--lab", "imclab")
	for _, n := range []string{"r1", "h1"} {
		if out := e.must("exec", n, "--", "busybox", "true"); out != "" {
			t.Errorf("%s: %q", n, out)
		}
	}
	if list := e.must("image", "ls"); strings.Contains(list, "docker://") {
		t.Errorf("a mapped image was pulled:\n%s", list)
	}
	if r := e.run("deploy", "--image", "a*b=busybox", topo); r.code != 2 || !strings.Contains(r.stderr, "* is only allowed at the end") {
		t.Errorf("bad --image: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestPullUnreachableSuggestsImage: an image whose registry refuses the
// connection fails the deploy at once, rolled back, and the error says how
// to map the image to a local rootfs.
func TestPullUnreachableSuggestsImage(t *testing.T) {
	e := newEnv(t)
	ref := "127.0.0.1:1/lab/frr:v1" // a local port nobody listens at
	topo := e.writeTopo("imclab.clab.yml", strings.Replace(imclabFile, "IMAGE", ref, 1))
	r := e.run("deploy", "--isolated", "--image", "quay.io/frrouting/frr:*=busybox", topo)
	if r.code == 0 {
		e.must("destroy", "--lab", "imclab")
		t.Fatal("deploy succeeded")
	}
	for _, want := range []string{"cannot reach registry 127.0.0.1:1", "--image '" + ref + "=ROOTFS'"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestDebianBuildFailureShowsLog: a build apt cannot do (no such package)
// fails with the end of the builder's log and leaves the cache empty.
func TestDebianBuildFailureShowsLog(t *testing.T) {
	needDebianBuilder(t)
	e := newEnv(t)
	r := e.run("image", "build", "debian:bookworm+leolab-no-such-package")
	if r.code == 0 {
		t.Fatal("the build succeeded")
	}
	for _, want := range []string{"prepare rootfs debian:bookworm+leolab-no-such-package: mmdebstrap: exit status", "its last lines:", "leolab-no-such-package"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if d, tmp := imageDirs(t, e.root); len(d)+len(tmp) != 0 {
		t.Errorf("a failed build left %v %v", d, tmp)
	}
}

// TestPullDroppedFailsFast: a registry address whose packets vanish (sent
// over a veth whose other end has no such address, in a throwaway network
// namespace: nothing leaves the host)
// fails the pull on the fetcher's short dial limit, not TCP's minutes of
// retries, and the error suggests --image.
func TestPullDroppedFailsFast(t *testing.T) {
	e := newEnv(t)
	ref := "10.99.1.2/lab/frr:v1"
	script := `set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 10.99.1.1/24 dev v0
ip link set v1 up
ip link set v0 up
ip neigh add 10.99.1.2 lladdr 02:00:00:00:99:02 dev v0 nud permanent
exec "$0" --root "$1" image build "docker://$2"`
	cmd := exec.Command("unshare", "--net", "sh", "-c", script, binary, e.root, ref)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the pull succeeded:\n%s", out)
	}
	for _, want := range []string{"cannot reach registry 10.99.1.2: ", "i/o timeout", "--image '" + ref + "=ROOTFS'"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
