package topology

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fakeRouterRoot is a directory rootfs holding just FRR's and BIRD's probe
// files, enough for validation to accept routers on it.
func fakeRouterRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{FRRProbe, BirdProbe} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRouterFields resolves frr (config from a file relative to the
// topology, or inline), bird and capabilities into the Plan.
func TestRouterFields(t *testing.T) {
	root := fakeRouterRoot(t)
	src := `
name: t
defaults: {rootfs: ` + root + `}
nodes:
  r1:
    frr: {daemons: [ospfd, bgpd], config: routers/r1-frr.conf}
    capabilities: {add: [cap_sys_time, NET_ADMIN], drop: [net_raw]}
  r2:
    frr: {}
  r3:
    bird:
      config: |
        router id 1.1.1.1;
`
	p, err := Parse("testdata/t.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r1, r2, r3 := p.Nodes[0], p.Nodes[1], p.Nodes[2]
	if r1.FRR == nil || !reflect.DeepEqual(r1.FRR.Daemons, []string{"ospfd", "bgpd"}) || !strings.Contains(r1.FRR.Config, "router ospf") {
		t.Errorf("r1 frr = %+v", r1.FRR)
	}
	if r1.FRR.At != (Pos{File: "testdata/t.yaml", Line: 6, Col: 5}) {
		t.Errorf("r1 frr at %+v", r1.FRR.At)
	}
	if want := (Caps{Add: []string{"SYS_TIME", "NET_ADMIN"}, Drop: []string{"NET_RAW"}}); !reflect.DeepEqual(r1.Caps, want) {
		t.Errorf("r1 caps = %+v, want %+v", r1.Caps, want)
	}
	if r2.FRR == nil || !r2.FRR.Own() {
		t.Errorf("r2 frr = %+v, want frr: {} (the node's own /etc/frr)", r2.FRR)
	}
	if r3.Bird == nil || r3.Bird.Config != "router id 1.1.1.1;\n" {
		t.Errorf("r3 bird = %+v", r3.Bird)
	}
}

// TestRouterErrors: every router mistake is located and says what to do.
func TestRouterErrors(t *testing.T) {
	root := fakeRouterRoot(t)
	empty := t.TempDir()
	cases := []struct{ name, node, want string }{
		{"busybox", `frr: {daemons: [ospfd]}`,
			"testdata/t.yaml:4:5: frr needs a rootfs with frr installed; busybox has none: use rootfs: debian:bookworm+frr"},
		{"dir without frr", `{rootfs: ` + empty + `, frr: {}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+empty+`, `) + ": frr needs a rootfs with frr installed; " + empty + " has no /usr/lib/frr/watchfrr: use rootfs: debian:bookworm+frr"},
		{"debian without bird", `{rootfs: "debian:bookworm+tcpdump", bird: {config: "x;\n"}}`,
			"testdata/t.yaml:4:41: bird needs a rootfs with bird2 installed; debian:bookworm+tcpdump lacks it: use rootfs: debian:bookworm+bird2+tcpdump"},
		{"unknown daemon", `{rootfs: ` + root + `, frr: {daemons: [ospf]}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, frr: {daemons: [`) + `: unknown FRR daemon "ospf"; expected one of ` + strings.Join(FRRDaemons, ", ")},
		{"daemon twice", `{rootfs: ` + root + `, frr: {daemons: [bgpd, bgpd]}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, frr: {daemons: [bgpd, `) + `: FRR daemon "bgpd" is listed twice`},
		{"missing config file", `{rootfs: ` + root + `, frr: {config: nowhere.conf}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, frr: {config: `) + `: config nowhere.conf: no such file or directory (a config is a file relative to the topology file, or its text over several lines)`},
		{"bird without config", `{rootfs: ` + root + `, bird: {}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, `) + `: bird needs a config (a file relative to the topology file, or the text of bird.conf)`},
		{"frr and bird", `{rootfs: ` + root + `, frr: {}, bird: {config: "x;\n"}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, frr: {}, `) + `: a node runs FRR or BIRD, not both (frr is set at line 4)`},
		{"frr and cmd", `{rootfs: ` + root + `, frr: {}, cmd: [sleep, "1"]}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, frr: {}, cmd: [`) + `: cmd cannot be set on a router node: frr/bird is its main process`},
		{"bad capability", `capabilities: {add: [NET_ADMINN], drop: [CAP_FOO]}`,
			`testdata/t.yaml:4:26: unknown capability "NET_ADMINN"; expected a name from capabilities(7) like NET_ADMIN or CAP_SYS_TIME, or ALL`},
		{"frr over a bound /etc/frr", `{rootfs: ` + root + `, binds: ["routers:/etc/frr"], frr: {daemons: [ospfd]}}`,
			"testdata/t.yaml:4:" + col(`    {rootfs: `+root+`, binds: ["routers:/etc/frr"], `) + `: frr daemons/config write /etc/frr, which bind ` + abs(t, "testdata/routers") + `:/etc/frr covers: use frr: {} to start from the bound files`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := errorsOf(t, "name: t\nnodes:\n  r1:\n    "+c.node+"\n", Options{})
			found := false
			for _, g := range got {
				found = found || g == c.want
			}
			if !found {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
}

// col is the column just after prefix.
func col(prefix string) string { return strconv.Itoa(len(prefix) + 1) }

func abs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestContainerlabFRRImage: a containerlab node of FRR's image runs FRR
// (from its own /etc/frr) where the rootfs has FRR, and is a plain node on
// busybox; an explicit cmd keeps the node's own main process.
func TestContainerlabFRRImage(t *testing.T) {
	root := fakeRouterRoot(t)
	src := `name: t
topology:
  nodes:
    r1: {kind: linux, image: "quay.io/frrouting/frr:8.4.1"}
    r2: {kind: linux, image: "frrouting/frr"}
    r3: {kind: linux, image: "quay.io/frrouting/frr:v9", cmd: "sleep 1000"}
    h1: {kind: linux, image: alpine}
`
	p, err := Parse("testdata/t.clab.yml", []byte(src), Options{RootfsOverride: root})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false, false} {
		n := p.Nodes[i]
		if got := n.FRR != nil; got != want {
			t.Errorf("%s: frr %v, want %v", n.Name, got, want)
		}
		if n.FRR != nil && !n.FRR.Own() {
			t.Errorf("%s: frr %+v, want the node's own /etc/frr", n.Name, n.FRR)
		}
	}
	p, err = Parse("testdata/t.clab.yml", []byte(src), Options{RootfsOverride: "busybox"})
	if err != nil {
		t.Fatalf("busybox: %v", err)
	}
	if p.Nodes[0].FRR != nil {
		t.Errorf("FRR image on busybox: frr %+v, want a plain node", p.Nodes[0].FRR)
	}
}
