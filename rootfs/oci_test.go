//go:build linux

package rootfs

import (
	"bytes"
	"context"
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
)

// testImage has two layers: the second whites out a file and makes a
// directory opaque.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	layer := func(b []byte) v1.Layer {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l1 := layer(gzipBytes(t, tarBytes(t,
		dir("etc"), file("etc/keep", "1"), file("etc/gone", "2"),
		dir("opq"), file("opq/old", "3"), dir("opq/sub"), file("opq/sub/old", "4"),
		file("bin/tool", "5"))))
	l2 := layer(gzipBytes(t, tarBytes(t,
		file("etc/.wh.gone", ""),
		file("opq/sub/new", "6"), // written before the marker: must survive it
		dir("opq"), file("opq/.wh..wh..opq", ""), file("opq/new", "7"))))
	img, err := mutate.AppendLayers(empty.Image, l1, l2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func checkTestImage(t *testing.T, img Image) {
	t.Helper()
	mustRead(t, filepath.Join(img.Dir, "etc/keep"), "1")
	mustRead(t, filepath.Join(img.Dir, "bin/tool"), "5")
	mustRead(t, filepath.Join(img.Dir, "opq/new"), "7")
	mustRead(t, filepath.Join(img.Dir, "opq/sub/new"), "6")
	for _, gone := range []string{"etc/gone", "etc/.wh.gone", "opq/old", "opq/sub/old", "opq/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(img.Dir, gone)); err == nil {
			t.Errorf("%s should be gone", gone)
		}
	}
}

func writeLayout(t *testing.T, dir string, img v1.Image) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
}

func TestOCILayoutDirAndTar(t *testing.T) {
	h := newHostile(t)
	img := testImage(t)
	want, _ := img.Digest()
	writeLayout(t, filepath.Join(h.dir, "layout"), img)
	got, err := h.s.Prepare(context.Background(), "oci:layout", h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindOCI || got.Digest != want.Hex {
		t.Errorf("image %+v, want digest %s", got, want.Hex)
	}
	checkTestImage(t, got)

	// The same layout as a tarball resolves to the same cached image.
	tb := tarDir(t, filepath.Join(h.dir, "layout"))
	writeFile(t, filepath.Join(h.dir, "layout.tar"), tb)
	before := builds.Load()
	got2, err := h.s.Prepare(context.Background(), "oci:"+filepath.Join(h.dir, "layout.tar"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got2.Dir != got.Dir || builds.Load() != before {
		t.Errorf("layout tar: %+v (builds %d → %d)", got2, before, builds.Load())
	}
	ents, _ := os.ReadDir(h.s.imagesDir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("temp dir left: %s", e.Name())
		}
	}
}

// tarDir packs a directory of regular files and dirs.
func tarDir(t *testing.T, root string) []byte {
	t.Helper()
	var entries []entry
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if fi.IsDir() {
			entries = append(entries, dir(rel))
			return nil
		}
		b, err := os.ReadFile(p)
		entries = append(entries, file(rel, string(b)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tarBytes(t, entries...)
}

func TestDockerArchive(t *testing.T) {
	h := newHostile(t)
	p := filepath.Join(h.dir, "saved.tar")
	tag, _ := name.NewTag("leolab/test:v1")
	if err := tarball.WriteToFile(p, tag, testImage(t)); err != nil {
		t.Fatal(err)
	}
	got, err := h.s.Prepare(context.Background(), "docker-archive:saved.tar", h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindDockerArchive || got.Source != "docker-archive:"+p {
		t.Errorf("image %+v", got)
	}
	checkTestImage(t, got)
}

func TestDockerRegistry(t *testing.T) {
	h := newHostile(t)
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/leolab/test:v1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	got, err := h.s.Prepare(context.Background(), "docker://"+ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindDocker || got.Digest != want.Hex {
		t.Errorf("image %+v, want digest %s", got, want.Hex)
	}
	checkTestImage(t, got)

	// With the registry gone, the image last pulled for the ref is used.
	srv.Close()
	again, err := h.s.Prepare(context.Background(), "docker://"+ref, "")
	if err != nil || again.Dir != got.Dir {
		t.Errorf("offline Prepare: %+v %v", again, err)
	}
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func TestBadWhiteoutRefused(t *testing.T) {
	h := newHostile(t)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes(t, dir("a"), file("a/keep", "1"), file("a/.wh..", "")))), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	writeLayout(t, filepath.Join(h.dir, "layout"), img)
	if _, err := h.s.Prepare(context.Background(), "oci:layout", h.dir); err == nil || !strings.Contains(err.Error(), "bad whiteout") {
		t.Errorf("Prepare: %v", err)
	}
	assertCacheEmpty(t, h.s)
}

// TestOCILayoutDirWarmNeedsNoFetcher: a layout directory prepared once is
// found again by its unchanged index.json, without reading its blobs (the
// fetcher would need them), and a changed index.json is resolved anew.
func TestOCILayoutDirWarmNeedsNoFetcher(t *testing.T) {
	h := newHostile(t)
	dir := filepath.Join(h.dir, "layout")
	writeLayout(t, dir, testImage(t))
	got, err := h.s.Prepare(context.Background(), "oci:layout", h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "blobs"), filepath.Join(h.dir, "blobs-away")); err != nil {
		t.Fatal(err)
	}
	again, err := h.s.Prepare(context.Background(), "oci:layout", h.dir)
	if err != nil || again.Digest != got.Digest {
		t.Fatalf("warm layout dir: %+v, %v; want digest %s", again, err, got.Digest)
	}
	index := filepath.Join(dir, "index.json")
	b, _ := os.ReadFile(index)
	writeFile(t, index, append(b, '\n')) // same image, but a changed file: resolved again
	if _, err := h.s.Prepare(context.Background(), "oci:layout", h.dir); err == nil {
		t.Fatal("changed index.json with its blobs gone was taken from the cache")
	}
}
