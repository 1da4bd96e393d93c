package topology

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"leolab/internal/spec/debspec"
)

// Root filesystems built from Debian packages, and image mappings.
//
// rootfs: debian:SUITE+PKG… is checked and written in its one form
// (packages sorted, once each); the long form {debian: SUITE, packages:
// [PKG…]} becomes the same string.
//
// An image mapping PATTERN=ROOTFS (deploy --image, or the top-level
// images: map of a leolab file) replaces a node's registry image
// (docker://REF, which a containerlab node's image: becomes) by another
// rootfs. PATTERN is an image reference as written in the file, or a prefix
// of one followed by "*". The exact pattern wins over any "*" one, a longer
// prefix over a shorter one, and --image over images:.

// ImageMap is one PATTERN=ROOTFS mapping.
type ImageMap struct {
	Pattern string
	Rootfs  string
}

// ParseImageFlag reads deploy --image's PATTERN=ROOTFS (the flag parser
// names the flag and value in its error).
func ParseImageFlag(s string) (ImageMap, error) {
	pat, target, ok := strings.Cut(s, "=")
	if !ok {
		return ImageMap{}, fmt.Errorf("not PATTERN=ROOTFS (e.g. 'quay.io/frrouting/frr:*=debian:bookworm+frr')")
	}
	if err := checkImagePattern(pat); err != nil {
		return ImageMap{}, err
	}
	if target == "" {
		return ImageMap{}, fmt.Errorf("no rootfs after =")
	}
	return ImageMap{Pattern: strings.TrimPrefix(pat, "docker://"), Rootfs: target}, nil
}

// checkImagePattern refuses an empty pattern, blanks, and "*" anywhere but
// at the end.
func checkImagePattern(p string) error {
	p = strings.TrimPrefix(p, "docker://")
	switch {
	case p == "":
		return fmt.Errorf("empty image pattern")
	case strings.ContainsAny(p, " \t\n="):
		return fmt.Errorf("image pattern %q holds a blank or =", p)
	case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
		return fmt.Errorf("image pattern %q: * is only allowed at the end", p)
	}
	return nil
}

// matchImage returns the index of the mapping that best matches ref, or -1.
func matchImage(maps []ImageMap, ref string) int {
	best, bestLen := -1, -1
	for i, m := range maps {
		prefix, wild := strings.CutSuffix(m.Pattern, "*")
		score := -1
		switch {
		case !wild && ref == m.Pattern:
			score = 1 << 30 // exact
		case wild && strings.HasPrefix(ref, prefix):
			score = len(prefix)
		}
		if score > bestLen {
			best, bestLen = i, score
		}
	}
	return best
}

// rawImage is one entry of the images: map.
type rawImage struct {
	pattern sval
	rootfs  sval
}

func (d *decoder) decodeImages(e entry) []rawImage {
	entries, _ := d.mapping(e.value, "images")
	var out []rawImage
	for _, x := range entries {
		p := sval{v: x.key, pos: x.kpos, set: true}
		if err := checkImagePattern(x.key); err != nil {
			d.errAt(x.kpos, "images: %v", err)
			continue
		}
		if r, ok := d.rootfsValue(x); ok {
			out = append(out, rawImage{pattern: p, rootfs: r})
		}
	}
	return out
}

// rootfsValue reads a rootfs: a string, or the long Debian form
// {debian: SUITE, packages: [PKG…]}.
func (d *decoder) rootfsValue(e entry) (sval, bool) {
	switch unwrap(e.value).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		return d.str(e)
	}
	at := valuePos(e)
	var suite sval
	var pkgs []sval
	d.fields(e.value, "rootfs", map[string]func(entry){
		"debian":   into(&suite, d.str),
		"packages": into(&pkgs, d.strList),
	})
	if !suite.set {
		d.errAt(at, "rootfs: a mapping must be {debian: SUITE, packages: [PKG…]}; debian is missing")
		return sval{}, false
	}
	names := make([]string, len(pkgs))
	for i, p := range pkgs {
		names[i] = p.v
		if _, err := debspec.New("x", []string{p.v}); err != nil {
			d.errAt(p.pos, "rootfs packages: %v", err)
			return sval{}, false
		}
	}
	sp, err := debspec.New(suite.v, names)
	if err != nil {
		d.errAt(suite.pos, "rootfs: %v", err)
		return sval{}, false
	}
	return sval{v: sp.String(), pos: at, set: true}, true
}

// mappedRootfs applies the image mappings to a docker:// rootfs: the
// resolved rootfs it maps to, or "" when none matches.
func (r *resolver) mappedRootfs(s sval) (string, bool) {
	ref, ok := strings.CutPrefix(s.v, "docker://")
	if !ok {
		return "", false
	}
	if i := matchImage(r.opts.Images, ref); i >= 0 {
		// Relative to the working directory: it was typed on the command line.
		cwd, _ := filepath.Abs(".")
		rootfs, err := resolveRootfs(r.opts.Images[i].Rootfs, cwd)
		if err != nil {
			r.errAt(s.pos, "--image %s=%s (for %s): %v", r.opts.Images[i].Pattern, r.opts.Images[i].Rootfs, ref, err)
			return "", true
		}
		return rootfs, true
	}
	maps := make([]ImageMap, len(r.raw.images))
	for i, m := range r.raw.images {
		maps[i] = ImageMap{Pattern: strings.TrimPrefix(m.pattern.v, "docker://"), Rootfs: m.rootfs.v}
	}
	if i := matchImage(maps, ref); i >= 0 {
		return r.imageTargets[i], true
	}
	return "", false
}

// checkImages resolves every images: entry once, used or not, so that a
// wrong one is reported at its own line.
func (r *resolver) checkImages() {
	r.imageTargets = make([]string, len(r.raw.images))
	for i, m := range r.raw.images {
		rootfs, err := resolveRootfs(m.rootfs.v, r.dir)
		if err != nil {
			r.errAt(m.rootfs.pos, "images: %s: %v", m.pattern.v, err)
			continue
		}
		r.imageTargets[i] = rootfs
	}
}
