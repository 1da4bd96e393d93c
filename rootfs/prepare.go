package rootfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"

	"leolab/internal/spec/debspec"
)

// Prepare resolves source (a value of a node's `rootfs:`) into a cached
// image, unpacking or pulling it on first use. Relative paths are taken from
// baseDir (the topology file's directory). Safe for concurrent callers, in
// one process or many: each image is unpacked once.
func (s *Store) Prepare(ctx context.Context, source, baseDir string) (Image, error) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(baseDir, p)
	}
	var img Image
	var err error
	switch {
	case source == "" || source == KindBusybox:
		img, err = s.prepareBusybox(ctx)
	case source == KindHost:
		img, err = s.prepareHost(ctx)
	case strings.HasPrefix(source, "oci:"):
		img, err = s.prepareOCI(ctx, abs(strings.TrimPrefix(source, "oci:")))
	case strings.HasPrefix(source, "docker-archive:"):
		img, err = s.prepareDockerArchive(ctx, abs(strings.TrimPrefix(source, "docker-archive:")))
	case debspec.Is(source):
		img, err = s.prepareDebian(ctx, source)
	case strings.HasPrefix(source, "docker://"):
		img, err = s.prepareRemote(ctx, strings.TrimPrefix(source, "docker://"))
	default:
		img, err = s.preparePath(ctx, abs(source))
	}
	if err != nil {
		return Image{}, fmt.Errorf("prepare rootfs %s: %w", source, err)
	}
	return img, nil
}

// preparePath handles a directory (used in place, never copied) or a tarball.
func (s *Store) preparePath(ctx context.Context, p string) (Image, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return Image{}, err
	}
	if fi.IsDir() {
		return Image{Source: p, Kind: KindDir, Dir: p}, nil
	}
	if !fi.Mode().IsRegular() {
		return Image{}, fmt.Errorf("%s is neither a directory nor a tarball", p)
	}
	digest, err := s.fileDigest(ctx, KindTar, p, fi)
	if err != nil {
		return Image{}, err
	}
	m := meta{Source: p, Kind: KindTar, Digest: digest}
	err = s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		return s.extractFile(ctx, p, dir)
	})
	if err != nil {
		return Image{}, err
	}
	s.indexPut(fileKey(KindTar, p, fi), digest)
	return s.image(p, KindTar, digest), nil
}

// fileDigest is the sha256 of a file's bytes, remembered by path, size,
// mtime and inode so a warm Prepare does not read the file again.
func (s *Store) fileDigest(ctx context.Context, kind, p string, fi os.FileInfo) (string, error) {
	if d, ok := s.indexGet(fileKey(kind, p, fi)); ok {
		return d, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// extractFile unpacks a (possibly compressed) tarball into dir.
func (s *Store) extractFile(ctx context.Context, p, dir string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	x, err := s.newExtractor(ctx, dir, false)
	if err != nil {
		return 0, err
	}
	x.progress = func(b int64, n int) { s.progressf("unpacking %s: %d MiB, %d entries", filepath.Base(p), b>>20, n) }
	err = x.applyStream(f)
	if cerr := x.close(); err == nil {
		err = cerr
	}
	if err == nil && x.entries == 0 {
		err = fmt.Errorf("%s is an empty archive", p)
	}
	if err != nil {
		return 0, err
	}
	s.progressf("unpacked %s: %d MiB, %d entries (%d device nodes skipped)", filepath.Base(p), x.bytes>>20, x.entries, x.skipped)
	return x.bytes, nil
}

// applyStream decompresses r by its magic number and applies the tar in it.
func (x *extractor) applyStream(r io.Reader) error {
	plain, err := decompress(r)
	if err != nil {
		return err
	}
	if err := x.apply(tar.NewReader(plain)); err != nil {
		return err
	}
	// Read to the end so a truncated or corrupt compressed trailer is an error.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	return nil
}

func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip: %w", err)
		}
		return z, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		z, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read xz: %w", err)
		}
		return z, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, fmt.Errorf("zstd-compressed archives are not supported; decompress it first")
	}
	return br, nil
}
