package topology

import (
	"reflect"
	"strings"
	"testing"
)

// TestDebianRootfs: both forms of a Debian rootfs become its one name.
func TestDebianRootfs(t *testing.T) {
	p, err := Parse("t.yaml", []byte(`name: t
nodes:
  a: {rootfs: "debian:bookworm+tcpdump+frr+frr"}
  b:
    rootfs: {debian: bookworm, packages: [frr, tcpdump]}
  c: {rootfs: {debian: trixie}}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "debian:bookworm+frr+tcpdump", "b": "debian:bookworm+frr+tcpdump", "c": "debian:trixie"}
	for _, n := range p.Nodes {
		if n.Rootfs != want[n.Name] {
			t.Errorf("%s rootfs %q, want %q", n.Name, n.Rootfs, want[n.Name])
		}
	}
}

func TestDebianRootfsErrors(t *testing.T) {
	got := errorsOf(t, `name: t
nodes:
  a: {rootfs: "debian:Bookworm"}
  b:
    rootfs: {debian: bookworm, packages: [frr, "Bad Name"]}
  c:
    rootfs: {packages: [frr]}
  d:
    rootfs: {debian: bookworm, pkgs: [frr]}
  e:
    rootfs: [debian]
`, Options{})
	want := []string{
		`testdata/t.yaml:3:15: rootfs "debian:Bookworm": Debian suite "Bookworm" is not a name like bookworm or trixie`,
		`testdata/t.yaml:5:48: rootfs packages: "Bad Name" is not a Debian package name (lowercase letters, digits, + - .; two characters or more)`,
		`testdata/t.yaml:7:13: rootfs: a mapping must be {debian: SUITE, packages: [PKG…]}; debian is missing`,
		`testdata/t.yaml:9:32: unknown key "pkgs" in rootfs; expected one of debian, packages`,
		`testdata/t.yaml:11:13: rootfs must be a string, not a list`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseImageFlag(t *testing.T) {
	m, err := ParseImageFlag("quay.io/frrouting/frr:*=debian:bookworm+frr")
	if err != nil || m != (ImageMap{Pattern: "quay.io/frrouting/frr:*", Rootfs: "debian:bookworm+frr"}) {
		t.Errorf("got %+v %v", m, err)
	}
	for _, c := range []struct{ in, want string }{
		{"quay.io/frrouting/frr", "not PATTERN=ROOTFS"},
		{"=busybox", "empty image pattern"},
		{"a*b=busybox", "* is only allowed at the end"},
		{"alpine:3.20=", "no rootfs after ="},
	} {
		if _, err := ParseImageFlag(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseImageFlag(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

// TestMatchImage: the exact pattern wins, then the longest prefix.
func TestMatchImage(t *testing.T) {
	maps := []ImageMap{{Pattern: "quay.io/*"}, {Pattern: "quay.io/frrouting/frr:*"}, {Pattern: "quay.io/frrouting/frr:v8"}, {Pattern: "alpine"}}
	for ref, want := range map[string]int{
		"quay.io/frrouting/frr:v8":   2,
		"quay.io/frrouting/frr:v9":   1,
		"quay.io/other:1":            0,
		"alpine":                     3,
		"alpine:3.20":                -1,
		"docker.io/frrouting/frr:v8": -1,
	} {
		if got := matchImage(maps, ref); got != want {
			t.Errorf("matchImage(%q) = %d, want %d", ref, got, want)
		}
	}
}

// TestImageMappingClab: --image maps a containerlab file's images; what no
// pattern matches stays a registry image.
func TestImageMappingClab(t *testing.T) {
	p, err := Load("testdata/clab/routers.clab.yml", Options{Images: []ImageMap{
		{Pattern: "frrouting/frr:*", Rootfs: "debian:bookworm+frr"},
		{Pattern: "nomatch*", Rootfs: "host"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"r1": "debian:bookworm+frr", "r2": "debian:bookworm+frr", "h1": "docker://alpine:3.20", "h2": "docker://alpine:3.20"}
	for _, n := range p.Nodes {
		if w, ok := want[n.Name]; ok && n.Rootfs != w {
			t.Errorf("%s rootfs %q, want %q", n.Name, n.Rootfs, w)
		}
	}
}

// TestImagesMap: a leolab file's images: map, overridden by --image.
func TestImagesMap(t *testing.T) {
	src := `name: t
images:
  "quay.io/frrouting/frr:*": {debian: bookworm, packages: [frr]}
  "docker://alpine:*": busybox
nodes:
  r1: {rootfs: "docker://quay.io/frrouting/frr:v8.4.1"}
  h1: {rootfs: "docker://alpine:3.20"}
  x: {rootfs: "docker://debian:12"}
`
	rootfs := func(opts Options) map[string]string {
		p, err := Parse("t.yaml", []byte(src), opts)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range p.Nodes {
			out[n.Name] = n.Rootfs
		}
		return out
	}
	want := map[string]string{"r1": "debian:bookworm+frr", "h1": "busybox", "x": "docker://debian:12"}
	if got := rootfs(Options{}); !reflect.DeepEqual(got, want) {
		t.Errorf("rootfs %v, want %v", got, want)
	}
	want["h1"] = "host"
	if got := rootfs(Options{Images: []ImageMap{{Pattern: "alpine:3.20", Rootfs: "host"}}}); !reflect.DeepEqual(got, want) {
		t.Errorf("with --image: rootfs %v, want %v", got, want)
	}
}

func TestImagesMapErrors(t *testing.T) {
	got := errorsOf(t, `name: t
images:
  "a*b": busybox
  "quay.io/*": ./no/such/dir
  "x:*": {debian: Bookworm}
nodes:
  r1: {rootfs: "docker://quay.io/frr"}
`, Options{})
	want := []string{
		`testdata/t.yaml:3:3: images: image pattern "a*b": * is only allowed at the end`,
		`testdata/t.yaml:4:16: images: quay.io/*: rootfs $DIR/no/such/dir does not exist`,
		`testdata/t.yaml:5:19: rootfs: Debian suite "Bookworm" is not a name like bookworm or trixie`,
	}
	_, dir := absDir("testdata/t.yaml")
	for i := range want {
		want[i] = strings.ReplaceAll(want[i], "$DIR", dir)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = errorsOf(t, "name: t\nnodes:\n  r1: {rootfs: \"docker://quay.io/frr\"}\n", Options{Images: []ImageMap{{Pattern: "quay.io/*", Rootfs: "debian:"}}})
	if len(got) != 1 || !strings.Contains(got[0], `t.yaml:3:16: --image quay.io/*=debian: (for quay.io/frr): rootfs "debian:": no Debian suite`) {
		t.Errorf("--image error: %q", got)
	}
}
