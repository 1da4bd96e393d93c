package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// maxLinkHops bounds symlink resolution inside a node's root, like the
// kernel's 40.
const maxLinkHops = 40

// LayOver copies the tree at src over a node's root before the node starts,
// into the node's own writable layer under nodeDir (the overlay's upper/,
// or the full copy rootfs/), so that neither the image nor src change
// (Kathará's DEV/ folders). Paths are taken as the node will see them: a
// directory of src that is a symlink in the image (Debian's /lib → usr/lib)
// is followed, never replaced. Directories, regular files and symlinks are
// copied, owned by root, with src's permissions; other entries are skipped.
// New directories of the layer take the mode and owner the image gives
// them, so laying a file into /root does not open /root up.
func LayOver(img Image, nodeDir, src string) error {
	v := &layerView{lower: img.Dir, layer: filepath.Join(nodeDir, "upper")}
	if _, err := os.Stat(v.layer); err != nil {
		v.layer, v.lower = filepath.Join(nodeDir, "rootfs"), "" // a full copy: one tree
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		if err := v.place(p, "/"+filepath.ToSlash(rel), d); err != nil {
			return fmt.Errorf("lay %s over the node's root: %w", p, err)
		}
		return nil
	})
}

// layerView is a node's root as the node will see it: layer over lower.
type layerView struct {
	lower string // the image tree, "" for a full copy
	layer string // where writes go
}

// lstat finds the root path p (absolute, clean) in the layer, else in the
// image.
func (v *layerView) lstat(p string) (fs.FileInfo, string, error) {
	fi, err := os.Lstat(filepath.Join(v.layer, p))
	if err == nil || v.lower == "" {
		return fi, filepath.Join(v.layer, p), err
	}
	fi, err = os.Lstat(filepath.Join(v.lower, p))
	return fi, filepath.Join(v.lower, p), err
}

// resolve follows every symlink of root path p inside the root and returns
// the path it leads to (which need not exist yet).
func (v *layerView) resolve(p string) (string, error) {
	todo := strings.Split(strings.Trim(p, "/"), "/")
	cur, hops := "/", 0
	for len(todo) > 0 {
		comp := todo[0]
		todo = todo[1:]
		if comp == "" || comp == "." {
			continue
		}
		if comp == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, comp)
		fi, host, err := v.lstat(next)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next // missing (created later) or not a link
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return cur, nil
}

// place copies the entry at host path p to root path rel.
func (v *layerView) place(p, rel string, d fs.DirEntry) error {
	parent, err := v.resolve(path.Dir(rel))
	if err != nil {
		return err
	}
	if err := v.mkdirAll(parent); err != nil {
		return err
	}
	target := path.Join(parent, path.Base(rel))
	switch {
	case d.IsDir():
		if dir, err := v.resolve(target); err == nil {
			target = dir // an image symlink to a directory is followed
		}
		return v.mkdirAll(target)
	case d.Type()&fs.ModeSymlink != 0:
		link, err := os.Readlink(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(v.layer, target)
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		return os.Symlink(link, dst)
	case d.Type().IsRegular():
		return copyRegular(p, filepath.Join(v.layer, target))
	}
	return nil // devices, fifos, sockets: not laid over
}

// mkdirAll makes root path dir in the layer, each new directory with the
// mode and owner of the image's directory of that path, if any.
func (v *layerView) mkdirAll(dir string) error {
	if dir == "/" {
		return nil
	}
	host := filepath.Join(v.layer, dir)
	if fi, err := os.Stat(host); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory in the node's root", dir)
		}
		return nil
	}
	if err := v.mkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	mode, uid, gid := fs.FileMode(0o755), 0, 0
	if v.lower != "" {
		if fi, err := os.Stat(filepath.Join(v.lower, dir)); err == nil && fi.IsDir() {
			mode = fi.Mode().Perm()
			uid, gid = ownerOf(fi)
		}
	}
	if err := os.Mkdir(host, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := os.Chmod(host, mode); err != nil {
		return err
	}
	return os.Lchown(host, uid, gid)
}

// copyRegular writes a copy of file src at dst, replacing what is there.
func copyRegular(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Lchown(dst, 0, 0)
}

// ownerOf is the uid and gid of fi (0, 0 when the platform hides them).
func ownerOf(fi fs.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}
