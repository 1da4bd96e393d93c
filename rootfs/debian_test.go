package rootfs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"leolab/internal/nstest"
)

// TestProgressLog: everything goes to the log, only the builder's status
// lines to the progress, and partial lines wait for their end.
func TestProgressLog(t *testing.T) {
	var log bytes.Buffer
	var lines []string
	p := &progressLog{log: &log, tail: &tailWriter{}, line: func(l string) { lines = append(lines, l) }}
	out := "I: running apt-get update...\nGet:1 http://deb.debian.org bookworm InRelease\nW: a warn"
	for _, chunk := range []string{out[:10], out[10:40], out[40:]} {
		p.Write([]byte(chunk))
	}
	p.Write([]byte("ing\nE: Unable to locate package x\r\n"))
	p.flush()
	want := []string{"I: running apt-get update...", "W: a warning", "E: Unable to locate package x"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("progress %q, want %q", lines, want)
	}
	if log.String() != out+"ing\nE: Unable to locate package x\r\n" {
		t.Errorf("log %q", log.String())
	}
	if got := p.tail.lastLines(2); got != "W: a warning\nE: Unable to locate package x" {
		t.Errorf("tail %q", got)
	}
}

// fakeBuilder puts an executable "mmdebstrap" script on PATH that records
// its arguments, stdin and pid namespace under dir, then runs body (with
// $target the target directory: the last but one argument of both builders).
func fakeBuilder(t *testing.T, body string) (dir string) { return fakeTool(t, "mmdebstrap", body) }

// fakeTool is fakeBuilder for a builder of that name.
func fakeTool(t *testing.T, name, body string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	script := `#!/bin/sh
target=$(eval echo \${$(($#-1))})
echo "$@" >> ` + dir + `/args
cat > ` + dir + `/stdin
readlink /proc/self/ns/pid > ` + dir + `/pidns
echo "I: building into $target"
` + body + "\n"
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	useHostApt(t, writeAptDir(t), "bookworm")
	return dir
}

// TestDebianBuildOnce: concurrent Prepares of one Debian image run the
// builder once, with the suite's sources on stdin, in a pid namespace of
// its own; the published tree is what it wrote, with its log beside it.
func TestDebianBuildOnce(t *testing.T) {
	nstest.RequireRoot(t)
	dir := fakeBuilder(t, `sleep 0.2; mkdir -p "$target/etc" && echo 12.0 > "$target/etc/debian_version"`)
	s := &Store{Root: t.TempDir()}
	var wg sync.WaitGroup
	imgs := make([]Image, 4)
	errs := make([]error, 4)
	for i := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = s.Prepare(t.Context(), "debian:bookworm+tcpdump+frr", "/")
		}()
	}
	wg.Wait()
	for i := range imgs {
		if errs[i] != nil || imgs[i] != imgs[0] {
			t.Fatalf("Prepare %d: %+v %v, want %+v", i, imgs[i], errs[i], imgs[0])
		}
	}
	if _, err := s.Prepare(t.Context(), "debian:bookworm+frr+tcpdump", "/"); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if n := strings.Count(string(args), "\n"); n != 1 {
		t.Errorf("the builder ran %d times:\n%s", n, args)
	}
	for _, want := range []string{"--mode=root", "--variant=minbase", "--include=frr,tcpdump", "--dpkgopt=path-exclude=/usr/share/doc/*", " bookworm " + s.imagesDir() + "/.tmp-"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("builder args lack %q: %s", want, args)
		}
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if !strings.Contains(string(stdin), "Suites: bookworm bookworm-updates\n") || strings.Contains(string(stdin), "nodistro") {
		t.Errorf("sources on stdin:\n%s", stdin)
	}
	pidns, _ := os.ReadFile(filepath.Join(dir, "pidns"))
	own, _ := os.Readlink("/proc/self/ns/pid")
	if strings.TrimSpace(string(pidns)) == own {
		t.Error("the builder ran in leolab's pid namespace")
	}
	img := imgs[0]
	if img.Kind != KindDebian || img.Source != "debian:bookworm+frr+tcpdump" {
		t.Errorf("image %+v", img)
	}
	if b, err := os.ReadFile(filepath.Join(img.Dir, "etc/debian_version")); err != nil || string(b) != "12.0\n" {
		t.Errorf("tree: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.imageDir(img.Digest), buildLogName)); !strings.Contains(string(b), "I: building into ") {
		t.Errorf("build log %q", b)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Debian == nil || !reflect.DeepEqual(list[0].Debian.Packages, []string{"frr", "tcpdump"}) || list[0].Size != 5 {
		t.Errorf("List: %+v %v", list, err)
	}
}

// TestDebianBuildFails: a failing builder's error ends with its last lines
// and leaves nothing in the cache; its status lines went to Progress.
func TestDebianBuildFails(t *testing.T) {
	nstest.RequireRoot(t)
	fakeBuilder(t, `mkdir -p "$target/etc"; echo "Reading package lists..."; echo "E: Unable to locate package nope" >&2; exit 25`)
	var progress bytes.Buffer
	s := &Store{Root: t.TempDir(), Progress: &progress}
	_, err := s.Prepare(t.Context(), "debian:bookworm+nope", "/")
	if err == nil || !strings.Contains(err.Error(), "mmdebstrap: exit status 25; its last lines:\n") || !strings.HasSuffix(err.Error(), "Reading package lists...\nE: Unable to locate package nope") {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(progress.String(), "debian:bookworm+nope: E: Unable to locate package nope") || strings.Contains(progress.String(), "Reading package") {
		t.Errorf("progress:\n%s", progress.String())
	}
	assertCacheEmpty(t, s)
}

// TestDebianBuildDebootstrap: without mmdebstrap, debootstrap builds from
// the first mirror; leolab then gives the image the full sources and drops
// apt's downloads and lists.
func TestDebianBuildDebootstrap(t *testing.T) {
	nstest.RequireRoot(t)
	dir := fakeTool(t, "debootstrap", `mkdir -p "$target/etc/apt/sources.list.d" "$target/var/cache/apt/archives/partial" "$target/var/lib/apt/lists"
echo "deb http://mirror.local/debian bookworm main" > "$target/etc/apt/sources.list"
touch "$target/var/cache/apt/archives/frr.deb" "$target/var/cache/apt/archives/lock" "$target/var/lib/apt/lists/x_Packages"`)
	s := &Store{Root: t.TempDir()}
	img, err := s.Prepare(t.Context(), "debian:bookworm+frr", "/")
	if err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	want := "--variant=minbase --arch=" + debianArch(runtime.GOARCH) + " --include=frr --components=main,contrib --keyring=/usr/share/keyrings/x.gpg bookworm "
	if !strings.HasPrefix(string(args), want) || !strings.HasSuffix(string(args), "/rootfs http://mirror.local/debian\n") {
		t.Errorf("debootstrap args %q, want %q… http://mirror.local/debian", args, want)
	}
	var left []string
	filepath.WalkDir(img.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			left = append(left, strings.TrimPrefix(p, img.Dir))
		}
		return nil
	})
	sort.Strings(left)
	if w := []string{"/etc/apt/sources.list.d/debian.sources", "/var/cache/apt/archives/lock"}; !reflect.DeepEqual(left, w) {
		t.Errorf("files %q, want %q", left, w)
	}
	list, _ := s.List()
	if len(list) != 1 || list[0].Debian.Builder != "debootstrap" {
		t.Errorf("List: %+v", list)
	}
}
