//go:build linux

package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"

	"leolab/internal/nstest"
)

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"a/b": "a/b", "/etc/x": "etc/x", "./a//b/": "a/b", "/": ".", "./": ".",
	} {
		got, err := cleanName(in)
		if err != nil || got != want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"../x", "/../x", "a/../../x", "a/..", "a\x00b"} {
		if _, err := cleanName(in); err == nil {
			t.Errorf("cleanName(%q) accepted", in)
		}
	}
}

// hostile sets up a store and a sentinel file outside it.
type hostile struct {
	dir, sentinel string
	s             *Store
}

func newHostile(t *testing.T) *hostile {
	nstest.RequireRoot(t)
	dir := t.TempDir()
	h := &hostile{dir: dir, sentinel: filepath.Join(dir, "sentinel"), s: &Store{Root: filepath.Join(dir, "root")}}
	writeFile(t, h.sentinel, []byte("original"))
	return h
}

func (h *hostile) check(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(h.sentinel)
	if err != nil || string(b) != "original" {
		t.Errorf("sentinel changed: %q, %v", b, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(h.sentinel, &st); err != nil || st.Nlink != 1 || st.Mode&0o7777 != 0o644 {
		t.Errorf("sentinel links/mode changed: nlink %d mode %o", st.Nlink, st.Mode)
	}
	for _, p := range []string{"x", "evil"} {
		if _, err := os.Lstat(filepath.Join(h.dir, p)); err == nil {
			t.Errorf("%s created outside the image", p)
		}
	}
}

func (h *hostile) prepare(t *testing.T, archive []byte) (Image, error) {
	t.Helper()
	p := writeFile(t, filepath.Join(h.dir, "img.tar.gz"), gzipBytes(t, archive))
	return h.s.Prepare(context.Background(), p, "")
}

func TestHostileArchivesRefused(t *testing.T) {
	rel := func(p string) string { // a relative path from the image root climbing to p
		return strings.Repeat("../", 20) + strings.TrimPrefix(p, "/")
	}
	cases := map[string]struct {
		entries []entry
		want    string
	}{
		"dotdot":         {[]entry{file("../x", "evil")}, "../x"},
		"slash-dotdot":   {[]entry{file("/../x", "evil")}, "/../x"},
		"deep-dotdot":    {[]entry{dir("a"), file("a/../../x", "evil")}, "a/../../x"},
		"symlink-dir-up": {[]entry{symlink("d", rel("DIR")), file("d/x", "evil")}, `"d/x"`},
		"hardlink-out":   {[]entry{hardlink("h", rel("DIR/sentinel"))}, `"h"`},
		"hardlink-etc":   {[]entry{hardlink("h", "/etc/shadow")}, "/etc/shadow"},
		"hardlink-symlink": {[]entry{symlink("s", "SENTINEL"), hardlink("h", "s")},
			"not a regular file"},
		"hardlink-via-symlink": {[]entry{symlink("d", "DIR"), hardlink("h", "d/sentinel")},
			"goes through a symlink"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHostile(t)
			for i := range c.entries {
				c.entries[i].name = strings.ReplaceAll(c.entries[i].name, "DIR", strings.TrimPrefix(h.dir, "/"))
				c.entries[i].link = strings.ReplaceAll(c.entries[i].link, "SENTINEL", h.sentinel)
				c.entries[i].link = strings.ReplaceAll(c.entries[i].link, "DIR", h.dir)
			}
			_, err := h.prepare(t, tarBytes(t, c.entries...))
			requireRefused(t, h, err, c.want)
		})
	}
}

func TestHostileArchivesContained(t *testing.T) {
	h := newHostile(t)
	abs := "/etc/leolab-test-" + randomID()
	img, err := h.prepare(t, tarBytes(t,
		file(abs, "inside"),
		symlink("link", h.sentinel), file("link", "evil"), // replaces the link, never writes through it
		symlink("adir", h.dir), file("adir/x", "evil"), // absolute dir link resolves inside the image
		entry{name: "dev/sda", typ: tar.TypeBlock, mode: 0o600},
		entry{name: "dev/null", typ: tar.TypeChar, mode: 0o666},
		entry{name: "fifo", typ: tar.TypeFifo, mode: 0o640},
	))
	if err != nil {
		t.Fatal(err)
	}
	h.check(t)
	if _, err := os.Lstat(abs); err == nil {
		t.Errorf("%s created on the host", abs)
	}
	mustRead(t, filepath.Join(img.Dir, abs), "inside")
	mustRead(t, filepath.Join(img.Dir, "link"), "evil")
	mustRead(t, filepath.Join(img.Dir, h.dir, "x"), "evil")
	for _, dev := range []string{"dev/sda", "dev/null"} {
		if _, err := os.Lstat(filepath.Join(img.Dir, dev)); err == nil {
			t.Errorf("device node %s created", dev)
		}
	}
	if fi, err := os.Lstat(filepath.Join(img.Dir, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo: %v %v", fi, err)
	}
}

func mustRead(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		t.Errorf("%s: %q, %v; want %q", p, b, err, want)
	}
}

func TestMetadataPreserved(t *testing.T) {
	h := newHostile(t)
	img, err := h.prepare(t, tarBytes(t,
		entry{name: "bin/su", typ: tar.TypeReg, mode: 0o4755, body: "x"},
		entry{name: "home/u/f", typ: tar.TypeReg, mode: 0o600, uid: 1234, body: "y",
			pax: map[string]string{"SCHILY.xattr.user.leolab": "v1"}},
		entry{name: "tmp", typ: tar.TypeDir, mode: 0o1777},
		file("a", "data"), hardlink("b", "/a"),
	))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(img.Dir, "bin/su"), &st); err != nil || st.Mode&0o7777 != 0o4755 {
		t.Errorf("setuid lost: %o %v", st.Mode, err)
	}
	if err := unix.Stat(filepath.Join(img.Dir, "home/u/f"), &st); err != nil || st.Uid != 1234 || st.Gid != 1234 {
		t.Errorf("owner lost: %d:%d %v", st.Uid, st.Gid, err)
	}
	if st.Mtim.Sec != 1700000000 {
		t.Errorf("mtime lost: %d", st.Mtim.Sec)
	}
	buf := make([]byte, 16)
	if n, err := unix.Getxattr(filepath.Join(img.Dir, "home/u/f"), "user.leolab", buf); err != nil || string(buf[:n]) != "v1" {
		t.Errorf("xattr lost: %q %v", buf[:n], err)
	}
	if err := unix.Stat(filepath.Join(img.Dir, "tmp"), &st); err != nil || st.Mode&0o7777 != 0o1777 {
		t.Errorf("sticky dir mode lost: %o", st.Mode)
	}
	if err := unix.Stat(filepath.Join(img.Dir, "b"), &st); err != nil || st.Nlink != 2 {
		t.Errorf("hardlink: nlink %d %v", st.Nlink, err)
	}
}

func TestBrokenAndOversizeArchives(t *testing.T) {
	big := tarBytes(t, file("a", strings.Repeat("x", 4000)), file("b", "y"), file("c", "z"), file("d", "w"))
	gz := gzipBytes(t, big)
	corrupt := bytes.Clone(gz)
	corrupt[len(corrupt)-6] ^= 0xff // inside the CRC32/size trailer
	cases := map[string]struct {
		data  []byte
		limit func(*Store)
		want  string
	}{
		"truncated-gzip": {gz[:len(gz)/2], nil, "unexpected EOF"},
		"corrupt-gzip":   {corrupt, nil, "gzip"},
		"truncated-tar":  {big[:1000], nil, "unexpected EOF"},
		"oversize":       {big, func(s *Store) { s.MaxBytes = 1000 }, "larger than 1000 bytes"},
		"too-many":       {big, func(s *Store) { s.MaxEntries = 3 }, "more than 3 entries"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHostile(t)
			if c.limit != nil {
				c.limit(h.s)
			}
			p := writeFile(t, filepath.Join(h.dir, "img.tar"), c.data)
			_, err := h.s.Prepare(context.Background(), p, "")
			requireRefused(t, h, err, c.want)
		})
	}
}

func TestTarXZAndRelativePath(t *testing.T) {
	h := newHostile(t)
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(tarBytes(t, dir("etc"), file("etc/os-release", "ID=test\n")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.dir, "base.tar.xz"), buf.Bytes())
	img, err := h.s.Prepare(context.Background(), "base.tar.xz", h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if img.Kind != KindTar || !isDigest(img.Digest) {
		t.Errorf("image %+v", img)
	}
	mustRead(t, filepath.Join(img.Dir, "etc/os-release"), "ID=test\n")
	// Warm: same digest, no second unpack.
	before := builds.Load()
	again, err := h.s.Prepare(context.Background(), filepath.Join(h.dir, "base.tar.xz"), "")
	if err != nil || again != img || builds.Load() != before {
		t.Errorf("warm Prepare: %+v %v (builds %d → %d)", again, err, before, builds.Load())
	}
}

func TestConcurrentPrepareUnpacksOnce(t *testing.T) {
	h := newHostile(t)
	p := writeFile(t, filepath.Join(h.dir, "img.tgz"), gzipBytes(t, tarBytes(t, file("a", "1"), file("b", "2"))))
	before := builds.Load()
	var wg sync.WaitGroup
	imgs := make([]Image, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Go(func() { imgs[i], errs[i] = h.s.Prepare(context.Background(), p, "") })
	}
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil || imgs[i] != imgs[0] {
			t.Errorf("goroutine %d: %+v %v", i, imgs[i], errs[i])
		}
	}
	if n := builds.Load() - before; n != 1 {
		t.Errorf("unpacked %d times, want once", n)
	}
}

func TestListRemovePrune(t *testing.T) {
	h := newHostile(t)
	ctx := context.Background()
	a, err := h.s.Prepare(ctx, writeFile(t, filepath.Join(h.dir, "a.tar"), tarBytes(t, file("a", "1"))), "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.s.Prepare(ctx, writeFile(t, filepath.Join(h.dir, "b.tar"), tarBytes(t, file("b", "22"))), "")
	if err != nil {
		t.Fatal(err)
	}
	// A stale temp dir from a "crashed" unpack is swept by Prune.
	if err := os.Mkdir(filepath.Join(h.s.imagesDir(), tmpPrefix+"dead"), 0o700); err != nil {
		t.Fatal(err)
	}
	list, err := h.s.List()
	if err != nil || len(list) != 2 || list[0].Digest != b.Digest || list[0].Size != 2 ||
		list[0].Source != filepath.Join(h.dir, "b.tar") {
		t.Fatalf("List: %+v %v", list, err)
	}
	if err := h.s.Remove(""); err == nil {
		t.Error("Remove of an empty prefix accepted")
	}
	if err := h.s.Remove("sha256:" + a.Digest[:12]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed image still there: %v", err)
	}
	removed, err := h.s.Prune(func(d string) bool { return false })
	if err != nil || len(removed) != 1 || removed[0] != b.Digest {
		t.Errorf("Prune: %v %v", removed, err)
	}
	assertCacheEmpty(t, h.s)
}

func TestEmptyArchiveRefused(t *testing.T) {
	h := newHostile(t)
	p := writeFile(t, filepath.Join(h.dir, "empty.tar"), nil)
	if _, err := h.s.Prepare(context.Background(), p, ""); err == nil || !strings.Contains(err.Error(), "empty archive") {
		t.Errorf("Prepare of an empty file: %v", err)
	}
	assertCacheEmpty(t, h.s)
}

// requireRefused: Prepare failed with want in its error, and neither the
// host nor the cache kept anything of the archive.
func requireRefused(t *testing.T, h *hostile, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Prepare: %v; want an error containing %q", err, want)
	}
	t.Logf("refused: %v", err)
	h.check(t)
	assertCacheEmpty(t, h.s)
}
