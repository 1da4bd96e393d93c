//go:build linux

package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"leolab/internal/nstest"
)

// FuzzExtract feeds arbitrary bytes to the archive extractor, the way a
// hostile `rootfs: ./evil.tar` reaches it. Whatever the input, it must not
// panic, hang or write anything outside the image directory: the sentinel
// beside it keeps its content, mode and link count, the parent directory
// gains nothing, and the image holds no device node. The seed corpus (the
// hostile shapes below plus testdata/fuzz/FuzzExtract) runs with every
// `go test` as root.
func FuzzExtract(f *testing.F) {
	for _, seed := range extractSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nstest.RequireRoot(t)
		parent := t.TempDir()
		sentinel := filepath.Join(parent, "sentinel")
		writeFile(t, sentinel, []byte("original"))
		image := filepath.Join(parent, "image")
		s := &Store{Root: parent, MaxBytes: 1 << 20, MaxEntries: 512}
		x, err := s.newExtractor(context.Background(), image, false)
		if err != nil {
			t.Fatal(err)
		}
		x.applyStream(bytes.NewReader(data)) // an error is fine; an escape is not
		x.close()
		assertContained(t, parent, sentinel, image)
	})
}

// assertContained checks that extraction into image touched nothing else in
// parent and created no device node.
func assertContained(t *testing.T, parent, sentinel, image string) {
	t.Helper()
	b, err := os.ReadFile(sentinel)
	if err != nil || string(b) != "original" {
		t.Fatalf("sentinel changed: %q, %v", b, err)
	}
	fi, err := os.Lstat(sentinel)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 || nlink(fi) != 1 {
		t.Fatalf("sentinel mode or links changed: %v, %v", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != "sentinel" && e.Name() != "image" {
			t.Fatalf("extraction created %s beside the image", e.Name())
		}
	}
	filepath.WalkDir(image, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0 {
			t.Fatalf("device node or socket %s created", p)
		}
		return nil
	})
}

// extractSeeds are the hostile archive shapes of the e2e suite, as bytes.
func extractSeeds(f *testing.F) [][]byte {
	outside := "../sentinel"
	dev := entry{name: "dev/sda", typ: tar.TypeBlock, mode: 0o600}
	suid := entry{name: "bin/su", body: "x", typ: tar.TypeReg, mode: 0o4755}
	full := tarBytes(f, dir("etc"), file("etc/hostname", "seed\n"), suid, dev)
	return [][]byte{
		full,
		gzipBytes(f, full),
		full[:len(full)/2],
		tarBytes(f, file("../x", "escape")),
		tarBytes(f, file("/etc/abs", "absolute")),
		tarBytes(f, symlink("up", ".."), file("up/sentinel", "through a symlink")),
		tarBytes(f, symlink("abs", "/"), file("abs/x", "absolute symlink")),
		tarBytes(f, symlink("s", outside), file("s", "replace, not follow")),
		tarBytes(f, hardlink("h", outside)),
		tarBytes(f, symlink("s", outside), hardlink("h", "s")),
		tarBytes(f, symlink("loop", "loop"), file("loop/x", "")),
		tarBytes(f, dir("d"), symlink("d/l", "../.."), file("d/l/x", "")),
		tarBytes(f, file(strings.Repeat("a/", 5000)+"deep", "")),
	}
}

func nlink(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}
