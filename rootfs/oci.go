package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// hostPlatform is the platform images are pulled for.
func hostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// prepareOCI caches an OCI image layout (a directory, or a tar of one) by
// the digest of the image manifest it selects.
func (s *Store) prepareOCI(ctx context.Context, p string) (Image, error) {
	source := "oci:" + p
	fi, err := os.Stat(p)
	if err != nil {
		return Image{}, err
	}
	if fi.IsDir() {
		return s.prepareLayout(ctx, source, p)
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
	img, err := s.prepareLayout(ctx, source, dir)
	if err != nil {
		return Image{}, err
	}
	s.indexPut(key, img.Digest)
	return img, nil
}

func (s *Store) prepareLayout(ctx context.Context, source, dir string) (Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return Image{}, fmt.Errorf("read OCI layout: %w", err)
	}
	img, err := pickImage(idx, hostPlatform())
	if err != nil {
		return Image{}, err
	}
	return s.prepareV1(ctx, source, KindOCI, img)
}

// pickImage selects from an index the one image, or the one for platform.
func pickImage(idx v1.ImageIndex, platform v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	var found []v1.Image
	var any v1.Image
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("read image index %s: %w", d.Digest, err)
			}
			img, err := pickImage(child, platform)
			if err != nil {
				return nil, err
			}
			found = append(found, img)
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("read image %s: %w", d.Digest, err)
			}
			any = img
			if d.Platform == nil || d.Platform.Satisfies(platform) {
				found = append(found, img)
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, fmt.Errorf("image index holds %d images for %s; keep one", len(found), platform.String())
	case any != nil:
		return nil, fmt.Errorf("image index has no image for %s", platform.String())
	}
	return nil, errors.New("image index holds no image")
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
		img, err := tarball.ImageFromPath(p, nil)
		if err != nil {
			return 0, fmt.Errorf("read docker archive: %w", err)
		}
		return s.applyLayers(ctx, img, dir)
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
	r, err := name.ParseReference(ref)
	if err != nil {
		return Image{}, fmt.Errorf("parse image reference: %w", err)
	}
	key := "ref\x00" + r.Name()
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(hostPlatform()))
	if err != nil {
		if d, ok := s.indexGet(key); ok {
			s.progressf("cannot reach registry for %s (%v); using cached image %.12s", ref, err, d)
			return s.image(source, KindDocker, d), nil
		}
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	out, err := s.prepareV1(ctx, source, KindDocker, img)
	if err != nil {
		return Image{}, err
	}
	s.indexPut(key, out.Digest)
	return out, nil
}

// prepareV1 caches a go-containerregistry image by its manifest digest.
func (s *Store) prepareV1(ctx context.Context, source, kind string, img v1.Image) (Image, error) {
	h, err := img.Digest()
	if err != nil {
		return Image{}, fmt.Errorf("image digest: %w", err)
	}
	m := meta{Source: source, Kind: kind, Digest: h.Hex}
	err = s.publish(ctx, m, func(ctx context.Context, dir string) (int64, error) {
		return s.applyLayers(ctx, img, dir)
	})
	if err != nil {
		return Image{}, err
	}
	return s.image(source, kind, h.Hex), nil
}

// applyLayers unpacks img's layers in order into dir, honouring whiteouts.
func (s *Store) applyLayers(ctx context.Context, img v1.Image, dir string) (int64, error) {
	layers, err := img.Layers()
	if err != nil {
		return 0, fmt.Errorf("list layers: %w", err)
	}
	x, err := s.newExtractor(ctx, dir, true)
	if err != nil {
		return 0, err
	}
	err = s.applyEach(x, layers)
	if cerr := x.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return x.bytes, nil
}

func (s *Store) applyEach(x *extractor, layers []v1.Layer) error {
	for i, l := range layers {
		size, _ := l.Size()
		s.progressf("layer %d/%d: %d MiB", i+1, len(layers), size>>20)
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		err = x.applyStream(ctxReader{x.ctx, rc})
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return nil
}
