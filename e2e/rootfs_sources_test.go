//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/ulikunitz/xz"
)

// miniRootTar is a tiny root filesystem: the host's static busybox, a few
// applet links and /etc/marker holding marker.
func miniRootTar(t *testing.T, marker string) []byte {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no /bin/busybox: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp"} {
		add(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	for _, app := range []string{"sh", "cat", "hostname", "ping", "ip", "ls"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + app, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	add(&tar.Header{Name: "etc/marker", Typeflag: tar.TypeReg, Mode: 0o644}, []byte(marker+"\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func xzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func ociImage(t *testing.T, marker string) v1.Image {
	t.Helper()
	data := gzipped(t, miniRootTar(t, marker))
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestEveryRootfsSourceBootsANode boots one node from each source kind of
// SPEC §2 (busybox, host, directory, .tar, .tar.gz, .tar.xz, oci: dir,
// docker-archive:, docker:// from an in-process registry on 127.0.0.1) and
// checks from inside each that it runs on its own image.
func TestEveryRootfsSourceBootsANode(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("plain.tar", miniRootTar(t, "plain-tar"))
	write("gz.tar.gz", gzipped(t, miniRootTar(t, "tar-gz")))
	write("xz.tar.xz", xzipped(t, miniRootTar(t, "tar-xz")))
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(tree, 0o755)
	untar(t, miniRootTar(t, "directory"), tree)

	lay, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lay.AppendImage(ociImage(t, "oci-layout")); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("leolab/e2e:v1")
	if err := tarball.WriteToFile(filepath.Join(dir, "saved.tar"), tag, ociImage(t, "docker-archive")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/leolab/e2e:v1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, ociImage(t, "registry")); err != nil {
		t.Fatal(err)
	}

	nodes := map[string]string{
		"plain": "plain.tar", "gz": "gz.tar.gz", "xz": "xz.tar.xz", "dir": "tree",
		"oci": "oci:layout", "darchive": "docker-archive:saved.tar", "reg": "docker://" + ref,
	}
	markers := map[string]string{"plain": "plain-tar", "gz": "tar-gz", "xz": "tar-xz", "dir": "directory",
		"oci": "oci-layout", "darchive": "docker-archive", "reg": "registry"}
	var topo strings.Builder
	topo.WriteString("name: sources\nbridges: {lan: {}}\nnodes:\n  bb: {interfaces: {eth0: lan}}\n  hst: {rootfs: host, interfaces: {eth0: lan}}\n")
	for n, src := range nodes {
		topo.WriteString("  " + n + ": {rootfs: \"" + src + "\", interfaces: {eth0: lan}}\n")
	}
	path := write("sources.yaml", []byte(topo.String()))
	e.must("deploy", path)
	defer e.must("destroy", "--lab", "sources")

	for n, want := range markers {
		if got := strings.TrimSpace(e.must("exec", n, "--", "cat", "/etc/marker")); got != want {
			t.Errorf("node %s: /etc/marker = %q, want %q", n, got, want)
		}
		if got := strings.TrimSpace(e.must("exec", n, "--", "hostname")); got != n {
			t.Errorf("node %s: hostname %q", n, got)
		}
	}
	e.must("exec", "xz", "--", "ping", "-c", "1", "-W", "2", "bb")
	e.must("exec", "hst", "--", "busybox", "ping", "-c", "1", "-W", "2", "reg") // the host may lack iputils
	// A write in one node is not seen by another on the same image, nor by the image.
	e.must("exec", "bb", "--", "sh", "-c", "echo mine > /etc/motd")
	if r := e.run("exec", "hst", "--", "cat", "/etc/motd"); strings.Contains(r.stdout, "mine") {
		t.Error("write in node bb visible in node hst")
	}
	if list := e.must("image", "ls"); !strings.Contains(list, "docker://"+ref) {
		t.Errorf("image ls does not list the pulled image:\n%s", list)
	}
}

func untar(t *testing.T, data []byte, dst string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			os.Symlink(h.Linkname, p)
		default:
			b, _ := io.ReadAll(tr)
			os.WriteFile(p, b, os.FileMode(h.Mode))
		}
	}
}

// TestImageCapsAreConfigurable: --max-image-size and --max-image-entries
// refuse an image over them, clearly, and leave nothing behind.
func TestImageCapsAreConfigurable(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	tarball := filepath.Join(dir, "root.tar.gz")
	if err := os.WriteFile(tarball, gzipped(t, miniRootTar(t, "capped")), 0o644); err != nil {
		t.Fatal(err)
	}
	topo := e.writeTopo("caps.yaml", "name: caps\nnodes:\n  a: {rootfs: \""+tarball+"\"}\n")
	for _, c := range []struct{ flag, want string }{
		{"--max-image-size=100K", "image larger than 102400 bytes"},
		{"--max-image-entries=5", "more than 5 entries"},
	} {
		r := e.run(c.flag, "deploy", topo)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("deploy %s: exit %d, stderr %s", c.flag, r.code, r.stderr)
		}
	}
	e.must("--max-image-size=64M", "deploy", topo)
	e.must("destroy", "--lab", "caps")
}

// TestOverlayUnfitImageGetsACopy: a directory image whose path overlay
// options cannot carry (a ':' in it) still boots, on a private full copy,
// and the node's writes never reach the directory.
func TestOverlayUnfitImageGetsACopy(t *testing.T) {
	e := newEnv(t)
	tree := filepath.Join(t.TempDir(), "odd:tree")
	os.MkdirAll(tree, 0o755)
	untar(t, miniRootTar(t, "odd"), tree)
	topo := e.writeTopo("odd.yaml", "name: odd\nnodes:\n  a: {rootfs: \""+tree+"\"}\n")
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "odd")
	if got := strings.TrimSpace(e.must("exec", "a", "--", "cat", "/etc/marker")); got != "odd" {
		t.Errorf("/etc/marker = %q", got)
	}
	e.must("exec", "a", "--", "sh", "-c", "echo mine > /etc/marker")
	if b, _ := os.ReadFile(filepath.Join(tree, "etc/marker")); string(b) != "odd\n" {
		t.Errorf("node write reached the image directory: %q", b)
	}
}
