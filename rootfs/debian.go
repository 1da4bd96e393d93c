package rootfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/debspec"
)

// Debian images (rootfs: debian:SUITE+PKG…) are built once by mmdebstrap
// (or debootstrap) from the host's apt sources, into the cache's temp dir,
// and published like any unpacked image. The builder runs as the only
// process tree of its own pid and mount namespaces: its mounts (/proc, /dev
// in the target) never reach the host's mount table, and it dies with
// leolab (SIGKILL included), so an interrupted build leaves only a temp dir
// the next run sweeps.

// debianLayout names what the build does beyond the spec and the sources
// (variant, dpkg excludes, cleanup); changing it must change every key.
const debianLayout = "minbase/nodocs/unsafe-io/usr-is-merged/v2"

// mergedUsrHook is mmdebstrap's hook that merges /usr as debootstrap does
// when the suite has usr-is-merged (bookworm and later).
const mergedUsrHook = "/usr/share/mmdebstrap/hooks/maybe-merged-usr"

// buildLogName is the builder's output, kept next to a built image.
const buildLogName = "build.log"

// Host paths read for a build; tests point them elsewhere.
var (
	hostAptDir    = "/etc/apt"
	hostOSRelease = "/etc/os-release"
)

// dpkgOptions keep documentation out of the image (copyright notices
// stay) and spare dpkg its fsync per file, as Debian's slim container
// images do; they stay in the image's dpkg configuration.
var dpkgOptions = []string{
	"force-unsafe-io",
	"path-exclude=/usr/share/doc/*",
	"path-include=/usr/share/doc/*/copyright",
	"path-exclude=/usr/share/man/*",
	"path-exclude=/usr/share/info/*",
	"path-exclude=/usr/share/locale/*",
	"path-include=/usr/share/locale/locale.alias",
}

// DebianInfo is what a cached Debian image was built from.
type DebianInfo struct {
	Suite    string   `json:"suite"`
	Arch     string   `json:"arch"`
	Packages []string `json:"packages,omitempty"`
	Builder  string   `json:"builder"` // mmdebstrap or debootstrap
}

// debianBuild is everything a Debian image's content depends on.
type debianBuild struct {
	spec    debspec.Spec
	arch    string
	sources []aptSource
}

// key is the cache key: spec, architecture, sources and layout.
func (b debianBuild) key() string {
	return strings.Join([]string{"debian", debianLayout, b.spec.String(), b.arch, deb822(b.sources)}, "\x00")
}

func (b debianBuild) digest() string {
	h := sha256.Sum256([]byte(b.key()))
	return hex.EncodeToString(h[:])
}

// planDebian reads the host's apt sources for spec.
func planDebian(spec debspec.Spec) (debianBuild, error) {
	all, err := hostAptSources(hostAptDir)
	if err != nil {
		return debianBuild{}, err
	}
	host := hostCodename(hostOSRelease, all)
	srcs := suiteSources(all, host, spec.Suite)
	if len(srcs) == 0 {
		return debianBuild{}, fmt.Errorf("no apt source of the host's Debian release (%q) in %s/sources.list or %s/sources.list.d to build from", host, hostAptDir, hostAptDir)
	}
	return debianBuild{spec: spec, arch: debianArch(runtime.GOARCH), sources: srcs}, nil
}

// debianArch is dpkg's name of a Go architecture.
func debianArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	case "mips64le":
		return "mips64el"
	case "mipsle":
		return "mipsel"
	}
	return goarch
}

// ErrNoDebianBuilder is a host without mmdebstrap or debootstrap.
var ErrNoDebianBuilder = errors.New("building a Debian rootfs needs mmdebstrap (or debootstrap) and neither is on PATH: install the Debian package mmdebstrap (apt-get install mmdebstrap)")

// debianBuilder finds mmdebstrap, else debootstrap.
func debianBuilder() (string, error) {
	for _, name := range []string{"mmdebstrap", "debootstrap"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoDebianBuilder
}

// prepareDebian builds (once) and caches a Debian image.
func (s *Store) prepareDebian(ctx context.Context, source string) (Image, error) {
	spec, err := debspec.Parse(source)
	if err != nil {
		return Image{}, err
	}
	b, err := planDebian(spec)
	if err != nil {
		return Image{}, err
	}
	name, digest := spec.String(), b.digest()
	if s.ready(digest) {
		return s.image(name, KindDebian, digest), nil
	}
	tool, err := debianBuilder()
	if err != nil {
		return Image{}, err
	}
	info := &DebianInfo{Suite: spec.Suite, Arch: b.arch, Packages: spec.Packages, Builder: filepath.Base(tool)}
	m := meta{Source: name, Kind: KindDebian, Digest: digest, Debian: info}
	err = s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		return s.buildDebian(ctx, b, tool, dir)
	})
	if err != nil {
		return Image{}, err
	}
	return s.image(name, KindDebian, digest), nil
}

// buildDebian runs the builder into dir, logging to build.log next to it.
func (s *Store) buildDebian(ctx context.Context, b debianBuild, tool, dir string) (int64, error) {
	name := b.spec.String()
	logPath := filepath.Join(filepath.Dir(dir), buildLogName)
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("create build log: %w", err)
	}
	defer log.Close()
	start := time.Now()
	s.progressf("building %s with %s", name, filepath.Base(tool))
	var cmd *exec.Cmd
	if filepath.Base(tool) == "debootstrap" {
		cmd = debootstrapCmd(ctx, tool, b, dir)
	} else {
		cmd = mmdebstrapCmd(ctx, tool, b, dir)
	}
	out := &progressLog{log: log, tail: &tailWriter{}, line: func(l string) { s.progressf("%s: %s", name, l) }}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own pid and mount namespaces: the builder's mounts stay private
	// and the whole tree dies with its first process, which dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS, // Go makes the new namespace's mounts private
		Pdeathsig:    syscall.SIGKILL,
	}
	// The system's own programs (apt, dpkg, tar, python3), never wrappers
	// from the user's PATH.
	cmd.Env = append(os.Environ(), "PATH="+builderPath, "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive")
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	out.flush()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, fmt.Errorf("%s stopped: %w", filepath.Base(tool), cerr)
		}
		return 0, fmt.Errorf("%s: %w; its last lines:\n%s", filepath.Base(tool), err, out.tail.lastLines(buildTailLines))
	}
	if filepath.Base(tool) == "debootstrap" {
		if err := cleanDebootstrap(dir, b); err != nil {
			return 0, err
		}
	}
	size, err := treeSize(dir)
	if err != nil {
		return 0, err
	}
	s.progressf("built %s: %d MiB in %s", name, size>>20, time.Since(start).Round(time.Second))
	return size, nil
}

const buildTailLines = 15

// builderPath is the builder's PATH.
const builderPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func mmdebstrapCmd(ctx context.Context, tool string, b debianBuild, dir string) *exec.Cmd {
	args := []string{"--mode=root", "--variant=minbase", "--architectures=" + b.arch, "--format=directory"}
	if len(b.spec.Packages) > 0 {
		args = append(args, "--include="+strings.Join(b.spec.Packages, ","))
	}
	for _, x := range dpkgOptions {
		args = append(args, "--dpkgopt="+x)
	}
	// Merged /usr the way debootstrap makes it (usr-is-merged), not by the
	// usrmerge package, which would bring perl (30 MiB) into every image.
	if fi, err := os.Stat(mergedUsrHook); err == nil && fi.IsDir() {
		args = append(args, "--hook-dir="+mergedUsrHook)
	}
	// The sources come on stdin ("-"): the host's, for this suite.
	args = append(args, b.spec.Suite, dir, "-")
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdin = strings.NewReader(deb822(b.sources))
	return cmd
}

// debootstrapCmd builds from the first mirror only (debootstrap takes one);
// the image's apt sources are then written in full (cleanDebootstrap).
func debootstrapCmd(ctx context.Context, tool string, b debianBuild, dir string) *exec.Cmd {
	args := []string{"--variant=minbase", "--arch=" + b.arch}
	if len(b.spec.Packages) > 0 {
		args = append(args, "--include="+strings.Join(b.spec.Packages, ","))
	}
	src := b.sources[0]
	if len(src.Components) > 0 {
		args = append(args, "--components="+strings.Join(src.Components, ","))
	}
	if len(src.SignedBy) == 1 && filepath.IsAbs(src.SignedBy[0]) {
		args = append(args, "--keyring="+src.SignedBy[0])
	}
	args = append(args, b.spec.Suite, dir, src.URIs[0])
	return exec.CommandContext(ctx, tool, args...)
}

// cleanDebootstrap does what mmdebstrap does by itself: the image gets the
// full apt sources and no downloaded packages or package lists.
func cleanDebootstrap(dir string, b debianBuild) error {
	etcApt := filepath.Join(dir, "etc", "apt")
	_ = os.Remove(filepath.Join(etcApt, "sources.list"))
	if err := os.WriteFile(filepath.Join(etcApt, "sources.list.d", "debian.sources"), []byte(deb822(b.sources)), 0o644); err != nil {
		return fmt.Errorf("write image apt sources: %w", err)
	}
	for _, d := range []string{"var/cache/apt/archives", "var/lib/apt/lists"} {
		entries, _ := os.ReadDir(filepath.Join(dir, d))
		for _, e := range entries {
			if e.Type().IsRegular() && e.Name() != "lock" {
				_ = os.Remove(filepath.Join(dir, d, e.Name()))
			}
		}
	}
	return nil
}

// treeSize is the bytes of dir's regular files, each hard link once.
func treeSize(dir string) (int64, error) {
	var size int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		size += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure image: %w", err)
	}
	return size, nil
}

// progressLog writes the builder's output to the build log, keeps its end
// for an error, and passes its status lines (I:, W:, E:) to line.
type progressLog struct {
	log     io.Writer
	tail    *tailWriter
	line    func(string)
	partial []byte
}

func (p *progressLog) Write(b []byte) (int, error) {
	_, _ = p.log.Write(b)
	_, _ = p.tail.Write(b)
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.status(string(p.partial[:i]))
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}

func (p *progressLog) flush() {
	if len(p.partial) > 0 {
		p.status(string(p.partial))
		p.partial = nil
	}
}

func (p *progressLog) status(l string) {
	l = strings.TrimRight(l, "\r ")
	for _, pre := range []string{"I: ", "W: ", "E: "} {
		if strings.HasPrefix(l, pre) {
			p.line(l)
			return
		}
	}
}
