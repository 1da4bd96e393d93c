// Package debspec reads and writes the name of a root filesystem built from
// Debian packages: debian:SUITE[+PKG…]. The topology checks it, the image
// cache builds and keys it; both go through Parse and String so that one
// image has one name, whatever the order or repetition of its packages.
package debspec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Prefix starts every Debian rootfs name.
const Prefix = "debian:"

// Spec is a minimal Debian (minbase) plus extra packages.
type Spec struct {
	Suite    string   // e.g. bookworm, trixie, stable, bookworm-backports
	Packages []string // sorted, without repeats
}

var (
	suiteRE   = regexp.MustCompile(`^[a-z][a-z0-9.-]*$`)
	packageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`) // Debian policy §5.6.1
)

// Is reports whether s names a Debian rootfs.
func Is(s string) bool { return strings.HasPrefix(s, Prefix) }

// Parse reads "debian:SUITE+PKG+PKG". Packages are separated by "+", or by
// "," when one of them has a "+" in its name (g++): "debian:SUITE,g++,make".
func Parse(s string) (Spec, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return Spec{}, fmt.Errorf("rootfs %q does not start with %s", s, Prefix)
	}
	sep := "+"
	if strings.Contains(rest, ",") {
		sep = ","
	}
	parts := strings.Split(rest, sep)
	sp, err := New(parts[0], parts[1:])
	if err != nil {
		return Spec{}, fmt.Errorf("rootfs %q: %w", s, err)
	}
	return sp, nil
}

// New checks a suite and package names and returns their Spec.
func New(suite string, packages []string) (Spec, error) {
	if suite == "" {
		return Spec{}, fmt.Errorf("no Debian suite (e.g. %sbookworm)", Prefix)
	}
	if !suiteRE.MatchString(suite) {
		return Spec{}, fmt.Errorf("Debian suite %q is not a name like bookworm or trixie", suite)
	}
	seen := map[string]bool{}
	var pkgs []string
	for _, p := range packages {
		if !packageRE.MatchString(p) {
			return Spec{}, fmt.Errorf("%q is not a Debian package name (lowercase letters, digits, + - .; two characters or more)", p)
		}
		if !seen[p] {
			seen[p] = true
			pkgs = append(pkgs, p)
		}
	}
	sort.Strings(pkgs)
	return Spec{Suite: suite, Packages: pkgs}, nil
}

// String is the one name of the image: packages sorted, "+"-separated
// unless a name holds a "+".
func (s Spec) String() string {
	sep := "+"
	for _, p := range s.Packages {
		if strings.Contains(p, "+") {
			sep = ","
		}
	}
	return Prefix + strings.Join(append([]string{s.Suite}, s.Packages...), sep)
}
