//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tarEntry is one entry of a test rootfs archive.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
	size             int64 // declared size, when it differs from body's
}

// baseRootfs is the smallest root filesystem a node boots from: the host's
// static busybox as /bin/sh, and the directories init mounts on.
func baseRootfs(t *testing.T) []tarEntry {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("no /bin/busybox (busybox-static) on the host")
	}
	out := []tarEntry{}
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "run"} {
		out = append(out, tarEntry{name: d + "/", typ: tar.TypeDir, mode: 0o755})
	}
	out = append(out, tarEntry{name: "bin/busybox", body: string(bb), typ: tar.TypeReg, mode: 0o755})
	for _, a := range []string{"sh", "cat", "ls", "id", "grep", "test", "stat", "true"} {
		out = append(out, tarEntry{name: "bin/" + a, link: "busybox", typ: tar.TypeSymlink, mode: 0o777})
	}
	return out
}

// writeArchive writes entries as a .tar.gz (or, truncated, cut in half).
func writeArchive(t *testing.T, path string, entries []tarEntry, truncate bool) {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		size := int64(len(e.body))
		if e.typ != tar.TypeReg {
			size = 0
		}
		if e.size != 0 {
			size = e.size
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: size,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX, Devmajor: 254}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg && e.size == 0 {
			tw.Write([]byte(e.body))
		}
		if e.size != 0 {
			break // a declared size never delivered: nothing may follow
		}
	}
	tw.Flush()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	data := gz.Bytes()
	if truncate {
		data = data[:len(data)/2]
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rootfsCase deploys a one-node lab whose rootfs is a hostile archive.
type rootfsCase struct {
	e        *env
	dir      string // holds the topology, the archive and the sentinel
	sentinel string
	topo     string
}

func newRootfsCase(t *testing.T, lab string, entries func(sentinel string) []tarEntry, truncate bool) *rootfsCase {
	e := newEnv(t)
	dir := t.TempDir()
	c := &rootfsCase{e: e, dir: dir, sentinel: filepath.Join(dir, "sentinel")}
	if err := os.WriteFile(c.sentinel, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeArchive(t, filepath.Join(dir, "evil.tar.gz"), append(baseRootfs(t), entries(c.sentinel)...), truncate)
	c.topo = filepath.Join(dir, "lab.yaml")
	os.WriteFile(c.topo, []byte("name: "+lab+"\nnodes:\n  n1: {rootfs: ./evil.tar.gz}\n"), 0o644)
	e.own(lab)
	t.Cleanup(c.check)
	return c
}

// check: the sentinel beside the archive is intact and the image cache
// holds no half-unpacked temp directory.
func (c *rootfsCase) check() {
	t := c.e.t
	b, err := os.ReadFile(c.sentinel)
	fi, serr := os.Lstat(c.sentinel)
	if err != nil || string(b) != "original" || serr != nil || fi.Mode() != 0o644 || nlinkOf(fi) != 1 {
		t.Errorf("sentinel changed: %q %v %v", b, err, serr)
	}
	ents, _ := os.ReadDir(filepath.Join(c.e.root, "images"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("half-unpacked image left in the cache: %s", e.Name())
		}
	}
}

func (c *rootfsCase) refused(t *testing.T, mention string) {
	t.Helper()
	r := c.e.run("deploy", c.topo)
	if r.code != 1 || !strings.Contains(r.stderr, mention) {
		t.Fatalf("deploy: exit %d, want 1 with %q\n%s", r.code, mention, r.stderr)
	}
	ents, _ := os.ReadDir(filepath.Join(c.e.root, "images"))
	for _, e := range ents {
		if len(e.Name()) == 64 {
			t.Errorf("refused archive published as image %s", e.Name())
		}
	}
}

// TestHostileRootfsArchivesRefused: entries leading out of the image, a
// truncated archive and one declaring more bytes than the limit are
// refused with an error naming the entry; nothing outside changes and the
// cache keeps nothing of them.
func TestHostileRootfsArchivesRefused(t *testing.T) {
	reg := func(name, body string) tarEntry {
		return tarEntry{name: name, body: body, typ: tar.TypeReg, mode: 0o644}
	}
	sym := func(name, to string) tarEntry {
		return tarEntry{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
	}
	hard := func(name, to string) tarEntry { return tarEntry{name: name, link: to, typ: tar.TypeLink, mode: 0o644} }
	up := strings.Repeat("../", 12)
	cases := []struct {
		name     string
		entries  func(sentinel string) []tarEntry
		truncate bool
		mention  string
	}{
		{"dotdot_name", func(s string) []tarEntry { return []tarEntry{reg(up+s, "pwned")} }, false, "../"},
		{"symlink_then_write", func(s string) []tarEntry {
			return []tarEntry{sym("esc", up+filepath.Dir(s)), reg("esc/sentinel", "pwned")}
		}, false, "esc/sentinel"},
		{"hardlink_outside", func(s string) []tarEntry { return []tarEntry{hard("h", up+s)} }, false, `"h"`},
		{"hardlink_to_symlink", func(s string) []tarEntry { return []tarEntry{sym("s", s), hard("h", "s")} }, false, `"h"`},
		{"truncated", func(string) []tarEntry { return nil }, true, "evil.tar.gz"},
		{"oversize", func(string) []tarEntry {
			return []tarEntry{{name: "huge", typ: tar.TypeReg, mode: 0o644, size: 9 << 30}}
		}, false, "limit"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := newRootfsCase(t, "rlevil"+string(rune('a'+i)), c.entries, c.truncate)
			rc.refused(t, c.mention)
		})
	}
}

// TestHostileRootfsArchivesContained: absolute names and absolute symlinks
// land inside the image, device nodes are skipped, a setuid file gains
// nothing (no_new_privs), and an image's /dev/null symlink is hidden by
// the node's own /dev; the sentinel is untouched and destroy leaves nothing.
func TestHostileRootfsArchivesContained(t *testing.T) {
	rc := newRootfsCase(t, "rlcontain", func(s string) []tarEntry {
		return []tarEntry{
			{name: s, body: "inside", typ: tar.TypeReg, mode: 0o644},
			{name: "abs", link: filepath.Dir(s), typ: tar.TypeSymlink, mode: 0o777},
			{name: "abs/through-abs-link", body: "inside too", typ: tar.TypeReg, mode: 0o644},
			{name: "dev/", typ: tar.TypeDir, mode: 0o755},
			{name: "dev/null", link: "/etc/shadow", typ: tar.TypeSymlink, mode: 0o777},
			{name: "blk", typ: tar.TypeBlock, mode: 0o666},
			{name: "bin/suid", body: "#!/bin/sh\nid -u\n", typ: tar.TypeReg, mode: 0o4755},
		}
	}, false)
	e := rc.e
	e.must("deploy", rc.topo)
	defer e.must("destroy", "--lab", "rlcontain")
	// The node mounts its own /tmp over the image's, so the contained
	// copies are looked for in the cached image tree.
	trees, _ := filepath.Glob(filepath.Join(e.root, "images", "*", "rootfs"))
	if len(trees) != 1 {
		t.Fatalf("image trees: %v", trees)
	}
	for path, want := range map[string]string{rc.sentinel: "inside", filepath.Dir(rc.sentinel) + "/through-abs-link": "inside too"} {
		if b, err := os.ReadFile(filepath.Join(trees[0], path)); err != nil || string(b) != want {
			t.Errorf("%s inside the image: %q, %v", path, b, err)
		}
	}
	if r := e.run("exec", "n1", "--", "test", "-e", "/blk"); r.code == 0 {
		t.Error("device node from the archive exists in the node")
	}
	if r := e.run("exec", "n1", "--", "test", "-c", "/dev/null"); r.code != 0 {
		t.Error("/dev/null in the node is not the character device")
	}
	if out := e.must("exec", "n1", "--", "grep", "NoNewPrivs", "/proc/self/status"); !strings.Contains(out, "1") {
		t.Errorf("no_new_privs not set in the node: %q", out)
	}
	fi, err := os.Stat(filepath.Join(e.root, "images"))
	if err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("image cache (holding the setuid file) is reachable by other host users: %v %v", fi.Mode(), err)
	}
}

// TestRootfsWithSymlinkedProcRefused: an image whose /proc is a symlink to
// the host-sensitive "/" is refused before anything is mounted there.
func TestRootfsWithSymlinkedProcRefused(t *testing.T) {
	rc := newRootfsCase(t, "rlproc", func(string) []tarEntry { return nil }, false)
	// Rewrite the archive: the base's proc/ directory replaced by a symlink.
	var entries []tarEntry
	for _, en := range baseRootfs(t) {
		if en.name != "proc/" {
			entries = append(entries, en)
		}
	}
	entries = append(entries, tarEntry{name: "proc", link: "/", typ: tar.TypeSymlink, mode: 0o777})
	writeArchive(t, filepath.Join(rc.dir, "evil.tar.gz"), entries, false)
	r := rc.e.run("deploy", rc.topo)
	if r.code != 1 || !strings.Contains(r.stderr, "proc") {
		t.Fatalf("deploy: exit %d, want 1 naming /proc\n%s", r.code, r.stderr)
	}
}

func nlinkOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}
