package rootfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoBusybox is returned (wrapped, with the reason) when no usable static
// busybox exists on the host.
var ErrNoBusybox = errors.New("no static busybox found: install Debian's busybox-static (apt-get install busybox-static) or set LEOLAB_BUSYBOX")

// busyboxRecipe versions the tree built around the binary; bump it when
// buildBusyboxTree changes so caches rebuild.
const busyboxRecipe = "leolab-busybox-tree-v2"

// busyboxFiles are the /etc files of the built-in image.
var busyboxFiles = []struct {
	name string
	mode os.FileMode
	body string
}{
	{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	{"etc/group", 0o644, "root:x:0:\nnogroup:x:65534:\n"},
	{"etc/nsswitch.conf", 0o644, "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"},
	{"etc/profile", 0o644, "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\h:\\w\\$ '\nexport HOME=${HOME:-/root}\n"},
	{"etc/hosts", 0o644, "127.0.0.1\tlocalhost\n::1\tlocalhost\n"},
	{"etc/resolv.conf", 0o644, ""},
	{"etc/shells", 0o644, "/bin/sh\n/bin/ash\n"},
	{"root/.profile", 0o644, ". /etc/profile\n"},
}

var busyboxDirs = []struct {
	name string
	mode os.FileMode
}{
	{"bin", 0o755}, {"sbin", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755}, {"etc", 0o755},
	{"root", 0o700}, {"tmp", 0o1777}, {"proc", 0o555}, {"sys", 0o555}, {"dev", 0o755},
	{"run", 0o755}, {"var/tmp", 0o1777}, {"var/log", 0o755}, {"home", 0o755}, {"mnt", 0o755},
}

func busyboxPath() string {
	if p := os.Getenv("LEOLAB_BUSYBOX"); p != "" {
		return p
	}
	return "/bin/busybox"
}

// prepareBusybox builds the built-in image. A warm call costs a stat of the
// binary and an index read.
func (s *Store) prepareBusybox(ctx context.Context) (Image, error) {
	bin, err := filepath.Abs(busyboxPath())
	if err != nil {
		return Image{}, err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return Image{}, fmt.Errorf("%w (%v)", ErrNoBusybox, err)
	}
	key := fileKey(busyboxRecipe, bin, fi)
	if d, ok := s.indexGet(key); ok {
		return s.image(KindBusybox, KindBusybox, d), nil
	}
	if err := checkStatic(bin); err != nil {
		return Image{}, fmt.Errorf("%w (%v)", ErrNoBusybox, err)
	}
	digest, err := busyboxDigest(bin)
	if err != nil {
		return Image{}, err
	}
	m := meta{Source: KindBusybox + " (" + bin + ")", Kind: KindBusybox, Digest: digest}
	err = s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		return buildBusyboxTree(ctx, bin, dir)
	})
	if err != nil {
		return Image{}, err
	}
	s.indexPut(key, digest)
	return s.image(KindBusybox, KindBusybox, digest), nil
}

// checkStatic refuses anything but a statically linked ELF executable: a
// dynamic one would find no loader inside the image.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("%s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", bin)
		}
	}
	return nil
}

func busyboxDigest(bin string) (string, error) {
	f, err := os.Open(bin)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", bin, err)
	}
	h.Write([]byte("\x00" + busyboxRecipe))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildBusyboxTree lays out /bin/busybox, one symlink per applet and a
// minimal /etc in dir.
func buildBusyboxTree(ctx context.Context, bin, dir string) (int64, error) {
	out, err := listApplets(ctx, bin)
	if err != nil {
		return 0, err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, err
	}
	for _, d := range busyboxDirs {
		p := filepath.Join(dir, d.name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return 0, err
		}
		if err := unix.Chmod(p, uint32(d.mode)); err != nil { // keeps the sticky bit
			return 0, err
		}
	}
	size, err := copyFileTo(bin, filepath.Join(dir, "bin/busybox"), 0o755)
	if err != nil {
		return 0, fmt.Errorf("copy busybox: %w", err)
	}
	if err := linkApplets(dir, out); err != nil {
		return 0, err
	}
	for _, f := range busyboxFiles {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), f.mode); err != nil {
			return 0, err
		}
		size += int64(len(f.body))
	}
	return size, nil
}

// listApplets returns one path per applet ("sbin/ip"); busyboxes without
// --list-full get every applet in /bin.
func listApplets(ctx context.Context, bin string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err == nil {
		return out, nil
	}
	out, err = exec.CommandContext(ctx, bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	var b strings.Builder
	for _, name := range strings.Fields(string(out)) {
		b.WriteString("bin/" + name + "\n")
	}
	return []byte(b.String()), nil
}

func linkApplets(dir string, list []byte) error {
	for _, line := range strings.Split(string(bytes.TrimSpace(list)), "\n") {
		rel := path.Clean(strings.TrimPrefix(strings.TrimSpace(line), "/"))
		if rel == "." || rel == "bin/busybox" || strings.HasPrefix(rel, "..") {
			continue
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", p); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("link applet %s: %w", rel, err)
		}
	}
	return nil
}

func copyFileTo(src, dst string, mode os.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
