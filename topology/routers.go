package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"leolab/internal/spec/debspec"
	"leolab/internal/spec/nodespec"
)

// FRR runs FRRouting as a node's main process (watchfrr supervising the
// daemons, as FRR's own container image does).
type FRR struct {
	// Daemons are the routing daemons enabled besides the ones FRR always
	// runs (zebra, staticd and, from FRR 9, mgmtd).
	Daemons []string `json:"daemons,omitempty"`
	// Config is frr.conf; with neither Daemons nor Config (`frr: {}`) the
	// node's own /etc/frr (bound or in its image) is used as it is.
	Config string `json:"config,omitempty"`
	At     Pos    `json:"at,omitzero"` // the frr key, for errors found at deploy
	// Implicit marks FRR started because a containerlab node's image is
	// FRR's: it runs where the rootfs has FRR; elsewhere the node is plain.
	Implicit bool `json:"implicit,omitempty"`
}

// Pos is a place in a topology file, for errors found only at deploy.
type Pos struct {
	File      string `json:"file"`
	Line, Col int
}

// Errorf is a located error at p.
func (p Pos) Errorf(format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// Own reports `frr: {}`: start from the node's own /etc/frr/daemons.
func (f *FRR) Own() bool { return len(f.Daemons) == 0 && f.Config == "" }

// Bird runs BIRD 2 as a node's main process.
type Bird struct {
	Config string `json:"config"` // bird.conf
	At     Pos    `json:"at,omitzero"`
}

// Caps is a node's capability profile beyond the default set.
type Caps = nodespec.Caps

// FRRDaemons are the daemon names /etc/frr/daemons knows.
var FRRDaemons = []string{
	"zebra", "staticd", "mgmtd", "bgpd", "ospfd", "ospf6d", "ripd", "ripngd",
	"isisd", "fabricd", "pimd", "pim6d", "ldpd", "nhrpd", "eigrpd", "babeld",
	"sharpd", "pbrd", "bfdd", "vrrpd", "pathd",
}

// FRRProbe and BirdProbe are the files that show an image has FRR or BIRD.
const (
	FRRProbe  = "usr/lib/frr/watchfrr"
	BirdProbe = "usr/sbin/bird"
)

type rawFRR struct {
	at       pos
	implicit bool // from a containerlab node's image, not written
	daemons  []sval
	config   sval
}

type rawBird struct {
	at     pos
	config sval
}

type rawCaps struct {
	at        pos
	add, drop []sval
}

func (d *decoder) decodeFRR(e entry, what string) *rawFRR {
	f := &rawFRR{at: e.kpos}
	d.fields(e.value, what+" frr", map[string]func(entry){
		"daemons": into(&f.daemons, d.strList),
		"config":  into(&f.config, d.str),
	})
	return f
}

func (d *decoder) decodeBird(e entry, what string) *rawBird {
	b := &rawBird{at: e.kpos}
	d.fields(e.value, what+" bird", map[string]func(entry){
		"config": into(&b.config, d.str),
	})
	if !b.config.set {
		d.errAt(e.kpos, "bird needs a config (a file relative to the topology file, or the text of bird.conf)")
	}
	return b
}

func (d *decoder) decodeCaps(e entry, what string) *rawCaps {
	c := &rawCaps{at: e.kpos}
	d.fields(e.value, what+" capabilities", map[string]func(entry){
		"add":  into(&c.add, d.strList),
		"drop": into(&c.drop, d.strList),
	})
	return c
}

// routers resolves a node's frr, bird and capabilities.
func (r *resolver) routers(n *nodeState) {
	rn, out := n.raw, n.out
	if rn.caps != nil {
		out.Caps.Add = r.capList(rn.caps.add)
		out.Caps.Drop = r.capList(rn.caps.drop)
	}
	if rn.frr != nil {
		out.FRR = r.frr(n, rn.frr)
	}
	if rn.bird != nil {
		out.Bird = &Bird{At: r.where(rn.bird.at)}
		out.Bird.Config = r.config(rn.bird.config)
		r.checkImage(n, rn.bird.at, "bird", BirdProbe, "bird2", "bird2", "bird", "bird3")
	}
	switch {
	case rn.frr != nil && rn.bird != nil:
		r.errAt(rn.bird.at, "a node runs FRR or BIRD, not both (frr is set at line %d)", rn.frr.at.line)
	case (rn.frr != nil || rn.bird != nil) && len(out.Cmd) > 0:
		at := rn.cmd[0].pos
		r.errAt(at, "cmd cannot be set on a router node: frr/bird is its main process")
	}
}

func (r *resolver) frr(n *nodeState, rf *rawFRR) *FRR {
	f := &FRR{At: r.where(rf.at)}
	for _, dn := range rf.daemons {
		switch {
		case !slices.Contains(FRRDaemons, dn.v):
			r.errAt(dn.pos, "unknown FRR daemon %q; expected one of %s", dn.v, strings.Join(FRRDaemons, ", "))
		case slices.Contains(f.Daemons, dn.v):
			r.errAt(dn.pos, "FRR daemon %q is listed twice", dn.v)
		default:
			f.Daemons = append(f.Daemons, dn.v)
		}
	}
	f.Config = r.config(rf.config)
	if !f.Own() {
		for _, b := range n.out.Binds {
			if b.Target == "/etc/frr" || strings.HasPrefix("/etc/frr", b.Target+"/") || strings.HasPrefix(b.Target, "/etc/frr/") {
				r.errAt(rf.at, "frr daemons/config write /etc/frr, which bind %s:%s covers: use frr: {} to start from the bound files", b.Source, b.Target)
			}
		}
	}
	if rf.implicit {
		// A containerlab node of FRR's image runs FRR where its rootfs has
		// it, and is a plain node on one that has not (--rootfs busybox).
		f.Implicit = true
		if lacksRouter(n.out.Rootfs, "frr", FRRProbe, "frr", []string{"frr"}) != "" {
			return nil
		}
		return f
	}
	r.checkImage(n, rf.at, "frr", FRRProbe, "frr", "frr")
	return f
}

// config reads a config value: text with a line break is the config
// itself, anything else a file relative to the topology file.
func (r *resolver) config(v sval) string {
	if !v.set || strings.Contains(v.v, "\n") {
		return v.v
	}
	p := v.v
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		r.errAt(v.pos, "config %s: %v (a config is a file relative to the topology file, or its text over several lines)", v.v, unwrapPathErr(err))
		return ""
	}
	return string(b)
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// checkImage reports a router on a rootfs known, at validate time, to lack
// its software. Images known only once prepared are checked at deploy.
func (r *resolver) checkImage(n *nodeState, at pos, what, probe, pkg string, pkgs ...string) {
	if msg := lacksRouter(n.out.Rootfs, what, probe, pkg, pkgs); msg != "" {
		r.errAt(at, "%s", msg)
	}
}

// lacksRouter says why rootfs cannot run what, or "" when it can or cannot
// be known before the image is prepared.
func lacksRouter(rootfs, what, probe, pkg string, pkgs []string) string {
	dir := ""
	switch {
	case rootfs == "":
		return "" // already reported
	case debspec.Is(rootfs):
		sp, err := debspec.Parse(rootfs)
		if err == nil && !slices.ContainsFunc(sp.Packages, func(p string) bool { return slices.Contains(pkgs, p) }) {
			fixed, _ := debspec.New(sp.Suite, append(slices.Clone(sp.Packages), pkg))
			return fmt.Sprintf("%s needs a rootfs with %s installed; %s lacks it: use rootfs: %s", what, pkg, rootfs, fixed)
		}
		return ""
	case rootfs == RootfsBusybox:
		return fmt.Sprintf("%s needs a rootfs with %s installed; %s has none: use rootfs: debian:bookworm+%s", what, pkg, rootfs, pkg)
	case rootfs == RootfsHost:
		dir = "/"
	case filepath.IsAbs(rootfs):
		if st, err := os.Stat(rootfs); err != nil || !st.IsDir() {
			return "" // an archive: checked once unpacked
		}
		dir = rootfs
	default:
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
		return fmt.Sprintf("%s needs a rootfs with %s installed; %s has no /%s: use rootfs: debian:bookworm+%s", what, pkg, rootfs, probe, pkg)
	}
	return ""
}

// capList canonicalises capability names, reporting unknown ones.
func (r *resolver) capList(names []sval) []string {
	var out []string
	for _, c := range names {
		canon := nodespec.CanonicalCap(c.v)
		if _, ok := nodespec.CapNumber(c.v); !ok && canon != nodespec.CapAll {
			r.errAt(c.pos, "unknown capability %q; expected a name from capabilities(7) like NET_ADMIN or CAP_SYS_TIME, or ALL", c.v)
			continue
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out
}

// where is a position for the Plan.
func (r *resolver) where(p pos) Pos {
	return Pos{File: r.file, Line: p.line, Col: p.col}
}
