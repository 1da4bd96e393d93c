package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A Debian image is built from the host's own apt sources, so it builds
// wherever `apt-get install` works (offline mirrors included). Only the
// entries of the host's release are used (third-party repositories name
// other suites), with the host's codename replaced by the wanted suite.

// aptSource is one "deb" entry of the host's apt sources.
type aptSource struct {
	URIs       []string
	Suites     []string
	Components []string
	SignedBy   []string // the value's lines (a path, or an inline key)
}

// hostAptSources reads aptDir/sources.list, sources.list.d/*.list and
// sources.list.d/*.sources (deb822), skipping deb-src and disabled entries.
func hostAptSources(aptDir string) ([]aptSource, error) {
	var out []aptSource
	files := []string{filepath.Join(aptDir, "sources.list")}
	d := filepath.Join(aptDir, "sources.list.d")
	entries, err := os.ReadDir(d)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read apt sources: %w", err)
	}
	for _, e := range entries {
		files = append(files, filepath.Join(d, e.Name()))
	}
	sort.Strings(files[1:])
	for _, f := range files {
		var parse func(string) []aptSource
		switch {
		case strings.HasSuffix(f, ".list"):
			parse = parseOneLine
		case strings.HasSuffix(f, ".sources"):
			parse = parseDeb822
		default:
			continue // apt ignores other names too
		}
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read apt sources: %w", err)
		}
		out = append(out, parse(string(b))...)
	}
	return out, nil
}

// parseOneLine reads the one-line format: deb [opt=v …] URI SUITE COMP….
func parseOneLine(text string) []aptSource {
	var out []aptSource
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		var src aptSource
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			opts := []string{}
			for len(f) > 0 {
				o := f[0]
				f = f[1:]
				opts = append(opts, strings.Trim(o, "[]"))
				if strings.HasSuffix(o, "]") {
					break
				}
			}
			for _, o := range opts {
				if v, ok := strings.CutPrefix(o, "signed-by="); ok {
					src.SignedBy = []string{v}
				}
			}
		}
		if len(f) < 2 {
			continue
		}
		src.URIs, src.Suites, src.Components = f[:1], f[1:2], f[2:]
		out = append(out, src)
	}
	return out
}

// parseDeb822 reads the deb822 format: paragraphs of "Field: value" with
// indented continuation lines.
func parseDeb822(text string) []aptSource {
	var out []aptSource
	for _, para := range deb822Paragraphs(text) {
		if strings.EqualFold(first(para["enabled"]), "no") || !contains(strings.Fields(strings.Join(para["types"], " ")), "deb") {
			continue
		}
		src := aptSource{
			URIs:       strings.Fields(strings.Join(para["uris"], " ")),
			Suites:     strings.Fields(strings.Join(para["suites"], " ")),
			Components: strings.Fields(strings.Join(para["components"], " ")),
			SignedBy:   para["signed-by"],
		}
		if len(src.URIs) > 0 && len(src.Suites) > 0 {
			out = append(out, src)
		}
	}
	return out
}

// deb822Paragraphs splits text into paragraphs of field (lowercase) → the
// value's lines.
func deb822Paragraphs(text string) []map[string][]string {
	var out []map[string][]string
	para := map[string][]string{}
	field := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.TrimSpace(line) == "":
			if len(para) > 0 {
				out = append(out, para)
			}
			para, field = map[string][]string{}, ""
		case line[0] == ' ' || line[0] == '\t':
			if field != "" {
				para[field] = append(para[field], strings.TrimSpace(line))
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			field = strings.ToLower(strings.TrimSpace(k))
			para[field] = nil
			if v = strings.TrimSpace(v); v != "" {
				para[field] = []string{v}
			}
		}
	}
	if len(para) > 0 {
		out = append(out, para)
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suiteSources keeps the entries of the host's release (codename host, or
// host-updates, host-security…) and names suite in their place: for suite
// trixie on a bookworm host, bookworm-security becomes trixie-security.
// Development suites (sid, unstable, experimental) have no -updates or
// -security suites; those are dropped.
func suiteSources(srcs []aptSource, host, suite string) []aptSource {
	unstable := suite == "sid" || suite == "unstable" || suite == "experimental"
	var out []aptSource
	for _, s := range srcs {
		var suites []string
		for _, x := range s.Suites {
			rest, ok := strings.CutPrefix(x, host)
			if !ok || (rest != "" && !strings.HasPrefix(rest, "-")) {
				continue // another release, or a third-party suite
			}
			if rest != "" && unstable && suite != host {
				continue
			}
			suites = append(suites, suite+rest)
		}
		if len(suites) > 0 {
			s.Suites = suites
			out = append(out, s)
		}
	}
	return out
}

// deb822 writes entries in the deb822 format, the input of mmdebstrap and
// part of the image's cache key.
func deb822(srcs []aptSource) string {
	var b strings.Builder
	for i, s := range srcs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n",
			strings.Join(s.URIs, " "), strings.Join(s.Suites, " "), strings.Join(s.Components, " "))
		if len(s.SignedBy) > 0 {
			b.WriteString("Signed-By:")
			if len(s.SignedBy) == 1 {
				b.WriteString(" " + s.SignedBy[0] + "\n")
				continue
			}
			b.WriteString("\n")
			for _, l := range s.SignedBy {
				b.WriteString(" " + l + "\n")
			}
		}
	}
	return b.String()
}

// hostCodename is the host's release codename (VERSION_CODENAME in
// os-release), or else the first suite of its apt sources without a "-".
func hostCodename(osRelease string, srcs []aptSource) string {
	if b, err := os.ReadFile(osRelease); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
				if v = strings.Trim(strings.TrimSpace(v), `"'`); v != "" {
					return v
				}
			}
		}
	}
	for _, s := range srcs {
		for _, x := range s.Suites {
			if !strings.Contains(x, "-") {
				return x
			}
		}
	}
	return ""
}
