package labs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"leolab/internal/spec/nodespec"
	"leolab/rootfs"
	"leolab/topology"
)

// Router nodes (frr:, bird:) get their daemon as the node's main process,
// the files it needs written into the node, and the capabilities it asks
// for. The profiles, and why each capability is there, are in the README
// ("Routers").

// frrCaps are what FRR's daemons ask for beyond the default profile
// (NET_ADMIN, NET_RAW, NET_BIND_SERVICE): zebra, ospfd, bgpd, ripd, isisd,
// pimd, bfdd … keep CAP_SYS_ADMIN (for setns into VRF namespaces) when
// dropping to the frr user, and exit when capset cannot grant it
// (measured on FRR 8.4; the e2e test shows zebra refusing without it).
var frrCaps = []string{"SYS_ADMIN"}

// birdCaps: BIRD, switching to its user, keeps NET_BIND_SERVICE,
// NET_ADMIN, NET_RAW and NET_BROADCAST, and exits if capset refuses one.
var birdCaps = []string{"NET_BROADCAST"}

// frrStart starts FRR with FRR's own shell functions (frrcommon.sh, which
// reads /etc/frr/daemons): every enabled daemon started in turn and the
// config applied once with vtysh -b (its all_start), then watchfrr in the
// foreground as the node's main process,
// supervising them as in FRR's container image. Starting the daemons
// before watchfrr matters under load: watchfrr alone starts them through
// its "restart all", which it kills after 20 s and then races with the
// single restarts it forks meanwhile (seen with 50 routers on 2 vCPUs:
// daemons restarted twice, staticd refused, config half applied).
// frrcommon.sh expects its caller's log_*_msg functions.
const frrStart = `log_success_msg() { :; }
log_warning_msg() { echo "$@" >&2; }
log_failure_msg() { echo "$@" >&2; }
. /usr/lib/frr/frrcommon.sh || exit 1
all_start
exec /usr/lib/frr/watchfrr $watchfrr_options $(daemon_list)`

// routerSetup is what a router node adds to its node spec.
type routerSetup struct {
	cmd     []string
	files   []nodespec.File
	caps    nodespec.Caps
	sysctls []nodespec.Sysctl
}

// routerSysctls are on for every router unless its sysctls say otherwise:
// a router forwards.
var routerSysctls = []nodespec.Sysctl{
	{Key: "net.ipv4.ip_forward", Value: "1"},
	{Key: "net.ipv6.conf.all.forwarding", Value: "1"},
}

// routerOf returns n's router setup; a node without frr/bird gets its own
// cmd and capabilities.
func routerOf(n *topology.Node) routerSetup {
	r := routerSetup{cmd: n.Cmd, caps: n.Caps, sysctls: n.Sysctls}
	if n.FRR != nil || n.Bird != nil {
		r.sysctls = withDefaults(n.Sysctls, routerSysctls)
	}
	switch {
	case n.FRR != nil:
		r.cmd = []string{"/bin/bash", "-c", frrStart}
		r.files = frrFiles(n)
		r.caps.Add = union(frrCaps, n.Caps.Add)
	case n.Bird != nil:
		r.cmd = []string{"/usr/sbin/bird", "-f", "-u", "bird", "-g", "bird",
			"-c", "/etc/bird/bird.conf", "-s", "/run/bird/bird.ctl"}
		r.files = []nodespec.File{
			{Path: "/etc/bird/bird.conf", Data: n.Bird.Config, Mode: 0o640, Owner: "bird:bird"},
			{Path: "/run/bird", Dir: true, Mode: 0o755, Owner: "bird:bird"},
		}
		r.caps.Add = union(birdCaps, n.Caps.Add)
	}
	return r
}

// frrFiles are FRR's run and log directories and, unless the node brings
// its own /etc/frr (frr: {}), the daemons, frr.conf and vtysh.conf files.
func frrFiles(n *topology.Node) []nodespec.File {
	files := []nodespec.File{
		{Path: "/var/run/frr", Dir: true, Mode: 0o755, Owner: "frr:frr"},
		{Path: "/var/log/frr", Dir: true, Mode: 0o755, Owner: "frr:frr"},
	}
	if n.FRR.Own() {
		return files
	}
	conf := n.FRR.Config
	if conf == "" {
		conf = "hostname " + n.Name + "\n"
	}
	return append(files,
		nodespec.File{Path: "/etc/frr/daemons", Data: frrDaemons(n.FRR.Daemons), Mode: 0o640, Owner: "frr:frr"},
		nodespec.File{Path: "/etc/frr/frr.conf", Data: conf, Mode: 0o640, Owner: "frr:frr"},
		// root needs no password: vtysh never asks PAM (which a node may lack).
		nodespec.File{Path: "/etc/frr/vtysh.conf", Data: "service integrated-vtysh-config\nusername root nopassword\n", Mode: 0o640, Owner: "frr:frr"},
	)
}

// frrDaemons is /etc/frr/daemons enabling the always-on daemons and those
// listed, each listening for vty connections on the node's loopback only.
// mgmtd=yes is for FRR 9 and later; older ones ignore names they lack.
func frrDaemons(listed []string) string {
	var b strings.Builder
	b.WriteString("# written by leolab from the node's frr: field\n")
	enabled := union([]string{"zebra", "mgmtd", "staticd"}, listed)
	for _, d := range enabled {
		fmt.Fprintf(&b, "%s=yes\n", d)
	}
	b.WriteString("vtysh_enable=yes\n")
	for _, d := range enabled {
		opts := "-A 127.0.0.1"
		switch d {
		case "ospf6d", "ripngd", "pim6d":
			opts = "-A ::1"
		case "zebra":
			opts += " -s 90000000"
		}
		fmt.Fprintf(&b, "%s_options=\"%s\"\n", d, opts)
	}
	return b.String()
}

// withDefaults is own plus each default whose key own lacks (defaults first).
func withDefaults(own, defaults []nodespec.Sysctl) []nodespec.Sysctl {
	var out []nodespec.Sysctl
	for _, d := range defaults {
		found := false
		for _, o := range own {
			found = found || o.Key == d.Key
		}
		if !found {
			out = append(out, d)
		}
	}
	return append(out, own...)
}

// union is a followed by the names of b it lacks.
func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		found := false
		for _, x := range out {
			found = found || x == s
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// checkRouterImages refuses, before any node starts, a router whose
// prepared image lacks its daemon (images known only once prepared:
// archives, OCI, docker://, debian:).
func (d *deployment) checkRouterImages() error {
	var errs topology.Errors
	for i := range d.st.Plan.Nodes {
		n := &d.st.Plan.Nodes[i]
		img, ok := d.images[n.Rootfs]
		if !ok {
			continue
		}
		if n.FRR != nil && n.FRR.Implicit && !imageHas(img, topology.FRRProbe) {
			n.FRR = nil // a containerlab node of FRR's image on another rootfs: plain
		}
		if n.FRR != nil && !imageHas(img, topology.FRRProbe) {
			errs = append(errs, routerImageError(n.FRR.At, "frr", "frr", topology.FRRProbe, img))
		}
		if n.Bird != nil && !imageHas(img, topology.BirdProbe) {
			errs = append(errs, routerImageError(n.Bird.At, "bird", "bird2", topology.BirdProbe, img))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func imageHas(img rootfs.Image, probe string) bool {
	dir := img.Dir
	if img.Kind == rootfs.KindHost {
		dir = "/"
	}
	_, err := os.Stat(filepath.Join(dir, probe))
	return err == nil
}

// routerImageError is located at the router's key.
func routerImageError(at topology.Pos, what, pkg, probe string, img rootfs.Image) *topology.Error {
	return at.Errorf("%s needs a rootfs with %s installed; %s has no /%s: use rootfs: debian:bookworm+%s (or --image IMAGE=debian:bookworm+%s for a containerlab file)",
		what, pkg, img.Source, probe, pkg, pkg)
}
