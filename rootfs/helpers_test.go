//go:build linux

package rootfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/mountspec"
)

// entry is one tar entry of a test archive.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
	uid              int
	pax              map[string]string
}

func file(name, body string) entry {
	return entry{name: name, body: body, typ: tar.TypeReg, mode: 0o644}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) entry {
	return entry{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, target string) entry {
	return entry{name: name, link: target, typ: tar.TypeLink, mode: 0o644}
}

func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.uid,
			Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0), PAXRecords: e.pax,
			Format: tar.FormatPAX,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, p string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertCacheEmpty checks nothing that looks like an image (or a temp dir) is left.
func assertCacheEmpty(t *testing.T, s *Store) {
	t.Helper()
	ents, _ := os.ReadDir(s.imagesDir())
	for _, e := range ents {
		if isDigest(e.Name()) || strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("left in the cache: %s", e.Name())
		}
	}
}

// mountsUnder lists the host mount namespace's mount points below dir. It
// reads thread-self: a thread-local namespace test helper may have wedged
// the main thread (which /proc/self shows) in a private namespace.
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

// inMountNS runs fn on a thread with its own private mount namespace; the
// thread is thrown away afterwards, so nothing fn mounts can reach the host.
func inMountNS(t *testing.T, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the namespace
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return err
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return err
			}
			return fn()
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// applyMounts performs mounts at newRoot the way the node runtime does.
func applyMounts(newRoot string, mounts []mountspec.Mount) error {
	for _, m := range mounts {
		target := filepath.Join(newRoot, m.Target)
		if m.MkdirTarget {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		}
		if err := unix.Mount(m.Source, target, m.FSType, m.Flags, m.Data); err != nil {
			return &os.PathError{Op: "mount " + m.Source, Path: target, Err: err}
		}
		if m.Remount != 0 {
			if err := unix.Mount("", target, "", m.Remount, ""); err != nil {
				return &os.PathError{Op: "remount", Path: target, Err: err}
			}
		}
	}
	return nil
}
