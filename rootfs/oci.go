package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"leolab/internal/wire/fetchproto"
)

// prepareOCI caches an OCI image layout (a directory, or a tar of one) by
// the digest of the image manifest it selects.
func (s *Store) prepareOCI(ctx context.Context, p string) (Image, error) {
	source := "oci:" + p
	fi, err := os.Stat(p)
	if err != nil {
		return Image{}, err
	}
	if fi.IsDir() {
		return s.prepareLayoutDir(ctx, source, p)
	}
	key := fileKey(KindOCI, p, fi)
	if d, ok := s.indexGet(key); ok {
		return s.image(source, KindOCI, d), nil
	}
	// A layout tarball is unpacked (safely, within limits) to a temp dir first.
	if err := s.ensureDirs(); err != nil {
		return Image{}, err
	}
	t, err := s.newTemp(true)
	if err != nil {
		return Image{}, err
	}
	defer t.release()
	dir := filepath.Join(t.path, "layout")
	if _, err := s.extractFile(ctx, p, dir); err != nil {
		return Image{}, fmt.Errorf("unpack layout: %w", err)
	}
	return s.prepareLayoutIndexed(ctx, key, source, dir)
}

// prepareLayoutDir is prepareLayout remembered by the layout's index.json:
// every manifest and index below it is named by its digest, so while
// index.json is unchanged the image it selects is too, and a warm deploy
// starts no fetcher.
func (s *Store) prepareLayoutDir(ctx context.Context, source, dir string) (Image, error) {
	index := filepath.Join(dir, "index.json")
	fi, err := os.Stat(index)
	if err != nil {
		return s.prepareLayout(ctx, source, dir) // the fetcher says what is wrong
	}
	key := fileKey(KindOCI, index, fi)
	if d, ok := s.indexGet(key); ok {
		return s.image(source, KindOCI, d), nil
	}
	return s.prepareLayoutIndexed(ctx, key, source, dir)
}

// prepareLayoutIndexed is prepareLayout, remembered in the index under key.
func (s *Store) prepareLayoutIndexed(ctx context.Context, key, source, dir string) (Image, error) {
	img, err := s.prepareLayout(ctx, source, dir)
	if err != nil {
		return Image{}, err
	}
	s.indexPut(key, img.Digest)
	return img, nil
}

// prepareLayout caches the image the layout in dir holds for this platform.
func (s *Store) prepareLayout(ctx context.Context, source, dir string) (Image, error) {
	f, h, err := startFetch(ctx, fetchproto.KindLayout, dir)
	if err != nil {
		return Image{}, err
	}
	defer f.close()
	if h.Error != "" {
		return Image{}, errors.New(h.Error)
	}
	return s.publishFetched(ctx, source, KindOCI, h.Digest, f)
}

// prepareDockerArchive caches a `docker save` tarball by the digest of the
// archive's bytes.
func (s *Store) prepareDockerArchive(ctx context.Context, p string) (Image, error) {
	source := "docker-archive:" + p
	fi, err := os.Stat(p)
	if err != nil {
		return Image{}, err
	}
	digest, err := s.fileDigest(ctx, KindDockerArchive, p, fi)
	if err != nil {
		return Image{}, err
	}
	m := meta{Source: source, Kind: KindDockerArchive, Digest: digest}
	err = s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		f, h, err := startFetch(ctx, fetchproto.KindDockerArchive, p)
		if err != nil {
			return 0, err
		}
		defer f.close()
		if h.Error != "" {
			return 0, errors.New(h.Error)
		}
		return s.applyFetched(ctx, f, dir)
	})
	if err != nil {
		return Image{}, err
	}
	s.indexPut(fileKey(KindDockerArchive, p, fi), digest)
	return s.image(source, KindDockerArchive, digest), nil
}

// prepareRemote pulls ref for the host's platform and caches it by manifest
// digest. When the registry cannot be reached, the image last pulled for
// the same ref is used.
func (s *Store) prepareRemote(ctx context.Context, ref string) (Image, error) {
	source := "docker://" + ref
	f, h, err := startFetch(ctx, fetchproto.KindRemote, ref)
	if err != nil {
		return Image{}, err
	}
	defer f.close()
	if h.Error != "" && !h.PullFailed {
		return Image{}, errors.New(h.Error) // "parse image reference: …"
	}
	key := "ref\x00" + h.Name
	if h.Error != "" {
		if d, ok := s.indexGet(key); ok {
			s.progressf("cannot reach registry for %s (%s); using cached image %.12s", ref, h.Error, d)
			return s.image(source, KindDocker, d), nil
		}
		return Image{}, fmt.Errorf("pull %s: %s; without registry access, map the image to a local rootfs: deploy --image '%s=ROOTFS' (e.g. debian:bookworm+PACKAGE or busybox), or images: in a leolab file", ref, h.Error, ref)
	}
	out, err := s.publishFetched(ctx, source, KindDocker, h.Digest, f)
	if err != nil {
		return Image{}, err
	}
	s.indexPut(key, out.Digest)
	return out, nil
}

// publishFetched caches the image the fetcher resolved by its manifest
// digest; the fetcher streams the layers only when it is not cached yet.
func (s *Store) publishFetched(ctx context.Context, source, kind, digest string, f *fetcher) (Image, error) {
	m := meta{Source: source, Kind: kind, Digest: digest}
	err := s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		return s.applyFetched(ctx, f, dir)
	})
	if err != nil {
		return Image{}, err
	}
	return s.image(source, kind, digest), nil
}

// applyFetched unpacks the fetcher's layers in order into dir, honouring
// whiteouts.
func (s *Store) applyFetched(ctx context.Context, f *fetcher, dir string) (int64, error) {
	n, err := f.send()
	if err != nil {
		return 0, err
	}
	x, err := s.newExtractor(ctx, dir, true)
	if err != nil {
		return 0, f.failed(err)
	}
	err = s.applyEach(x, f, n)
	if cerr := x.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return x.bytes, nil
}

// applyEach applies the n layers the fetcher streams, then checks that the
// stream ended complete.
func (s *Store) applyEach(x *extractor, f *fetcher, n int) error {
	for i := 1; i <= n; i++ {
		size, err := f.r.NextLayer()
		if err != nil {
			return f.failed(fmt.Errorf("layer %d: %w", i, err))
		}
		s.progressf("layer %d/%d: %d MiB", i, n, size>>20)
		if err := x.applyStream(ctxReader{x.ctx, f.r}); err != nil {
			return f.failed(fmt.Errorf("layer %d: %w", i, err))
		}
	}
	return f.finish()
}
