package rootfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"leolab/internal/spec/debspec"
)

const hostSourcesList = `# comment
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.local/debian bookworm main contrib
deb-src http://mirror.local/debian bookworm main
deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main
`

const hostDeb822 = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# the security archive
Types: deb deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Enabled: no

Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
`

func writeAptDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"sources.list":                     hostSourcesList,
		"sources.list.d/debian.sources":    hostDeb822,
		"sources.list.d/old.list.disabled": "deb http://old.example/debian bookworm main\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestHostAptSources reads both formats, skipping deb-src, disabled
// entries and files apt ignores.
func TestHostAptSources(t *testing.T) {
	srcs, err := hostAptSources(writeAptDir(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []aptSource{
		{URIs: []string{"http://mirror.local/debian"}, Suites: []string{"bookworm"}, Components: []string{"main", "contrib"}, SignedBy: []string{"/usr/share/keyrings/x.gpg"}},
		{URIs: []string{"https://packages.cloud.google.com/apt"}, Suites: []string{"cloud-sdk-bookworm"}, Components: []string{"main"}},
		{URIs: []string{"http://deb.debian.org/debian"}, Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"}, SignedBy: []string{"/usr/share/keyrings/debian-archive-keyring.gpg"}},
		{URIs: []string{"http://deb.debian.org/debian-security"}, Suites: []string{"bookworm-security"}, Components: []string{"main"}},
		{URIs: []string{"https://deb.nodesource.com/node_20.x"}, Suites: []string{"nodistro"}, Components: []string{"main"}},
	}
	if !reflect.DeepEqual(srcs, want) {
		t.Errorf("sources:\n%+v\nwant\n%+v", srcs, want)
	}
}

// TestSuiteSources keeps only the host release's entries and renames its
// suites for another release; sid has no -updates or -security.
func TestSuiteSources(t *testing.T) {
	srcs, err := hostAptSources(writeAptDir(t))
	if err != nil {
		t.Fatal(err)
	}
	suites := func(ss []aptSource) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.URIs[0]+" "+strings.Join(s.Suites, ","))
		}
		return strings.Join(out, "; ")
	}
	for _, c := range []struct{ suite, want string }{
		{"bookworm", "http://mirror.local/debian bookworm; http://deb.debian.org/debian bookworm,bookworm-updates; http://deb.debian.org/debian-security bookworm-security"},
		{"trixie", "http://mirror.local/debian trixie; http://deb.debian.org/debian trixie,trixie-updates; http://deb.debian.org/debian-security trixie-security"},
		{"sid", "http://mirror.local/debian sid; http://deb.debian.org/debian sid"},
	} {
		if got := suites(suiteSources(srcs, "bookworm", c.suite)); got != c.want {
			t.Errorf("suite %s:\n got %s\nwant %s", c.suite, got, c.want)
		}
	}
}

func TestDeb822InlineKey(t *testing.T) {
	text := "Types: deb\nURIs: http://m/debian\nSuites: bookworm\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n"
	srcs := parseDeb822(text)
	if len(srcs) != 1 || len(srcs[0].SignedBy) != 4 {
		t.Fatalf("parsed %+v", srcs)
	}
	if got := deb822(srcs); got != text {
		t.Errorf("written back:\n%s\nwant\n%s", got, text)
	}
}

// TestDebianKey: the cache key is the same for the same content, whatever
// the package order, and differs with any of suite, packages, architecture
// or sources.
func TestDebianKey(t *testing.T) {
	srcs, err := hostAptSources(writeAptDir(t))
	if err != nil {
		t.Fatal(err)
	}
	build := func(name, arch string, srcs []aptSource) debianBuild {
		sp, err := debspec.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		return debianBuild{spec: sp, arch: arch, sources: suiteSources(srcs, "bookworm", sp.Suite)}
	}
	base := build("debian:bookworm+frr+tcpdump", "amd64", srcs)
	if d := build("debian:bookworm+tcpdump+frr+frr", "amd64", srcs).digest(); d != base.digest() {
		t.Error("package order or repetition changes the key")
	}
	for name, other := range map[string]debianBuild{
		"suite":    build("debian:trixie+frr+tcpdump", "amd64", srcs),
		"packages": build("debian:bookworm+frr", "amd64", srcs),
		"arch":     build("debian:bookworm+frr+tcpdump", "arm64", srcs),
		"sources":  build("debian:bookworm+frr+tcpdump", "amd64", srcs[2:]),
	} {
		if other.digest() == base.digest() {
			t.Errorf("another %s, same key", name)
		}
	}
	if !isDigest(base.digest()) {
		t.Errorf("digest %q is not a cache digest", base.digest())
	}
}

func TestHostCodename(t *testing.T) {
	dir := t.TempDir()
	osr := filepath.Join(dir, "os-release")
	os.WriteFile(osr, []byte("NAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\n"), 0o644)
	if got := hostCodename(osr, nil); got != "trixie" {
		t.Errorf("codename %q, want trixie", got)
	}
	srcs := []aptSource{{Suites: []string{"bookworm-security"}}, {Suites: []string{"bookworm"}}}
	if got := hostCodename(filepath.Join(dir, "none"), srcs); got != "bookworm" {
		t.Errorf("codename from sources %q, want bookworm", got)
	}
}

// TestNoDebianBuilder: without mmdebstrap and debootstrap on PATH, a build
// says which package to install, before touching the cache.
func TestNoDebianBuilder(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	useHostApt(t, writeAptDir(t), "bookworm")
	s := &Store{Root: t.TempDir()}
	_, err := s.Prepare(t.Context(), "debian:bookworm+iproute2", "/")
	if err == nil || !strings.Contains(err.Error(), "install the Debian package mmdebstrap") {
		t.Fatalf("err = %v, want the package to install", err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "images")); err == nil {
		t.Error("a build that cannot start created the cache")
	}
}

// useHostApt points the build at a test's apt sources and release.
func useHostApt(t *testing.T, aptDir, codename string) {
	t.Helper()
	osr := filepath.Join(t.TempDir(), "os-release")
	if err := os.WriteFile(osr, []byte("VERSION_CODENAME="+codename+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oldApt, oldOS := hostAptDir, hostOSRelease
	hostAptDir, hostOSRelease = aptDir, osr
	t.Cleanup(func() { hostAptDir, hostOSRelease = oldApt, oldOS })
}
