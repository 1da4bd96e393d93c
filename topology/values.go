package topology

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"leolab/internal/spec/debspec"
)

// The patterns compile on first use: every leolab command links this
// package, and most never validate a file.
var (
	labNameRE    = lazyRegexp(`^[a-z][a-z0-9-]{0,19}$`)
	nodeNameRE   = lazyRegexp(`^[A-Za-z][A-Za-z0-9-]{0,62}$`)
	bridgeNameRE = lazyRegexp(`^[A-Za-z][A-Za-z0-9-]{0,31}$`)
	ifaceNameRE  = lazyRegexp(`^[A-Za-z][A-Za-z0-9._-]{0,14}$`)
	envKeyRE     = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sysctlKeyRE  = lazyRegexp(`^net(\.[A-Za-z0-9_-]+)+$`)
	memoryRE     = lazyRegexp(`^([0-9]+)([KkMmGgTt]?)$`)
	rateRE       = lazyRegexp(`^([0-9]+(?:\.[0-9]+)?)([kmgt]?)bit$`)
)

const (
	minMTU     = 68
	maxMTU     = 65535
	defaultMTU = 1500
)

// parseSubnet reads a subnet of a bridge or link: canonical IPv4, /8../30.
func parseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("subnet %q is not a CIDR prefix like 172.20.1.0/24", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("subnet %s is not IPv4", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("subnet %s has host bits set (did you mean %s?)", s, p.Masked())
	}
	if p.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("subnet %s is too small: it needs to be /30 or larger", s)
	}
	if p.Bits() < 8 {
		return netip.Prefix{}, fmt.Errorf("subnet %s is too large: it needs to be /8 or smaller", s)
	}
	if !usable(p.Addr()) {
		return netip.Prefix{}, fmt.Errorf("subnet %s is not a unicast range", s)
	}
	return p, nil
}

// usable is false for 0/8, loopback, multicast and 240/4.
func usable(a netip.Addr) bool {
	b := a.As4()
	return b[0] != 0 && !a.IsLoopback() && !a.IsMulticast() && b[0] < 240
}

// parseAddr reads a static interface address: A.B.C.D/N, or A.B.C.D
// (bits -1: the length is that of the subnet).
func parseAddr(s string) (netip.Addr, int, error) {
	bad := fmt.Errorf("ipv4 %q is not an IPv4 address like 172.20.1.10/24 or none", s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return netip.Addr{}, 0, bad
		}
		return a, -1, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}, 0, bad
	}
	return p.Addr(), p.Bits(), nil
}

// parseRouteTo reads a route destination: CIDR (IPv4 or IPv6), a bare
// address (/32 or /128) or "default" (IPv4's; IPv6's is ::/0).
func parseRouteTo(s string) (netip.Prefix, error) {
	if s == "default" {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" && !a.Is4In6() {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("route to %q is not an IPv4 or IPv6 CIDR prefix or default", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("route to %s has host bits set (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}

func checkMTU(v int64) error {
	if v < minMTU || v > maxMTU {
		return fmt.Errorf("mtu %d is outside %d..%d", v, minMTU, maxMTU)
	}
	return nil
}

// maxNetemDelay is the longest delay or jitter leolab sets: the kernel
// takes them as 32-bit counts of 1/64 µs ticks (about 274 s).
const maxNetemDelay = 4 * time.Minute

// parseDuration reads a netem delay or jitter such as 20ms.
func parseDuration(key, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q is not a duration like 20ms", key, s)
	}
	if d > maxNetemDelay {
		return 0, fmt.Errorf("%s %s is longer than %v", key, s, maxNetemDelay)
	}
	return d, nil
}

// parsePercent reads "1%", "0.5%" or a bare number, 0..100.
func parsePercent(key, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("%s %q is not a percentage like 1%%", key, s)
	}
	if v < 0 || v > 100 {
		return 0, fmt.Errorf("%s %s is outside 0..100%%", key, s)
	}
	return v, nil
}

// parseRate reads a rate such as 500kbit, 10mbit or 1gbit (bits per second,
// powers of 1000, as tc reads them). The kernel's tbf counts bytes per
// second, so 8bit is the least it takes.
func parseRate(key, s string) (uint64, error) {
	m := rateRE().FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, fmt.Errorf("%s %q is not a rate like 10mbit (units: bit, kbit, mbit, gbit, tbit)", key, s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	v *= map[string]float64{"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m[2]]
	if v < 8 || v > 1e15 {
		return 0, fmt.Errorf("%s %s is outside 8bit..1000tbit", key, s)
	}
	return uint64(v), nil
}

// parseMemory reads a byte count such as 512K, 256M or 1G (powers of 1024).
func parseMemory(s string) (int64, error) { return parseSize("memory", s) }

// parseSize reads a byte count like 256M for the field what.
func parseSize(what, s string) (int64, error) {
	m := memoryRE().FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%s %q is not a size like 256M (units: K, M, G, T)", what, s)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[strings.ToLower(m[2])]
	if err != nil || v <= 0 || v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%s %s is out of range", what, s)
	}
	return v << shift, nil
}

func parseCPUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("cpus %q is not a number like 0.5", s)
	}
	if v <= 0 || v > 1e6 {
		return 0, fmt.Errorf("cpus %s must be greater than 0", s)
	}
	return v, nil
}

// parseBind reads HOST:NODE[:ro|:rw]; HOST is relative to dir.
func parseBind(s, dir string) (Bind, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Bind{}, fmt.Errorf("bind %q is not HOST:NODE[:ro]", s)
	}
	b := Bind{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			b.ReadOnly = true
		case "rw":
		default:
			return Bind{}, fmt.Errorf("bind %q: option %q is not ro or rw", s, parts[2])
		}
	}
	if !filepath.IsAbs(b.Target) {
		return Bind{}, fmt.Errorf("bind %q: target %s is not an absolute path", s, b.Target)
	}
	b.Target = filepath.Clean(b.Target)
	if !filepath.IsAbs(b.Source) {
		b.Source = filepath.Join(dir, b.Source)
	}
	b.Source = filepath.Clean(b.Source)
	if _, err := os.Stat(b.Source); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Bind{}, fmt.Errorf("bind source %s does not exist", b.Source)
		}
		return Bind{}, fmt.Errorf("bind source %s: %w", b.Source, err)
	}
	return b, nil
}

// Rootfs values that are not paths.
const (
	RootfsBusybox = "busybox"
	RootfsHost    = "host"
)

var tarSuffixes = []string{".tar", ".tar.gz", ".tgz", ".tar.xz"}

// resolveRootfs checks a rootfs value and makes its path absolute (relative
// to dir). The result is busybox, host, debian:SUITE+PKG… (in its one
// form), docker://REF, oci:/ABS,
// docker-archive:/ABS, or an absolute directory or tarball path.
func resolveRootfs(s, dir string) (string, error) {
	switch {
	case s == RootfsBusybox || s == RootfsHost:
		return s, nil
	case debspec.Is(s):
		sp, err := debspec.Parse(s)
		return sp.String(), err
	case strings.HasPrefix(s, "docker://"):
		if len(s) == len("docker://") || strings.ContainsAny(s, " \t\n") {
			return "", fmt.Errorf("rootfs %q is not docker://REF", s)
		}
		return s, nil
	}
	for _, scheme := range []string{"oci:", "docker-archive:"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			p, err := existingPath(rest, dir, s)
			return scheme + p, err
		}
	}
	p, err := existingPath(s, dir, s)
	if err != nil {
		if !strings.ContainsAny(s, "/.") {
			err = fmt.Errorf("%w (for a registry image write docker://%s)", err, s)
		}
		return "", err
	}
	st, _ := os.Stat(p)
	if st.IsDir() || hasTarSuffix(p) {
		return p, nil
	}
	return "", fmt.Errorf("rootfs %s is neither a directory nor a %s file", s, strings.Join(tarSuffixes, "/"))
}

func hasTarSuffix(p string) bool {
	for _, suf := range tarSuffixes {
		if strings.HasSuffix(p, suf) {
			return true
		}
	}
	return false
}

func existingPath(p, dir, what string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("rootfs %q has no path", what)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	p = filepath.Clean(p)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("rootfs %s does not exist", p)
		}
		return "", fmt.Errorf("rootfs %s: %w", p, err)
	}
	return p, nil
}

// lazyRegexp returns a function compiling pattern once, when first called.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
