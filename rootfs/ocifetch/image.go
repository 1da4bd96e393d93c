package ocifetch

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"leolab/internal/wire/fetchproto"
)

// resolve finds the image kind and target name for platform ("os/arch")
// and describes it in a header; the image is nil when the header holds an
// error.
func resolve(kind, target, platform string) (v1.Image, fetchproto.Header) {
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, fetchproto.Header{Error: fmt.Sprintf("platform %q: %v", platform, err)}
	}
	switch kind {
	case fetchproto.KindLayout:
		return withDigest(layoutImage(target, *p))
	case fetchproto.KindDockerArchive:
		// leolab keys archives by their bytes: no manifest digest is
		// computed (for an archive it means compressing every layer).
		img, err := tarball.ImageFromPath(target, nil)
		if err != nil {
			return nil, fetchproto.Header{Error: fmt.Sprintf("read docker archive: %v", err)}
		}
		return img, fetchproto.Header{}
	case fetchproto.KindRemote:
		return remoteImage(target, *p)
	}
	return nil, fetchproto.Header{Error: fmt.Sprintf("unknown image source kind %q", kind)}
}

// layoutImage selects the platform's image from the layout in dir.
func layoutImage(dir string, platform v1.Platform) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout: %w", err)
	}
	return pickImage(idx, platform)
}

// remoteImage looks ref up in its registry, with the default keychain (the
// docker and podman credentials of $HOME / $DOCKER_CONFIG).
func remoteImage(ref string, platform v1.Platform) (v1.Image, fetchproto.Header) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fetchproto.Header{Error: fmt.Sprintf("parse image reference: %v", err)}
	}
	if err := checkReachable(r.Context().Registry); err != nil {
		return nil, fetchproto.Header{Name: r.Name(), Error: err.Error(), PullFailed: true}
	}
	img, err := remote.Image(r, remote.WithContext(context.Background()), remote.WithTransport(transport()),
		remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithPlatform(platform))
	if err != nil {
		return nil, fetchproto.Header{Name: r.Name(), Error: err.Error(), PullFailed: true}
	}
	img, h := withDigest(img, nil)
	h.Name = r.Name()
	return img, h
}

// withDigest describes img, or err, in a header.
func withDigest(img v1.Image, err error) (v1.Image, fetchproto.Header) {
	if err != nil {
		return nil, fetchproto.Header{Error: err.Error()}
	}
	h, err := img.Digest()
	if err != nil {
		return nil, fetchproto.Header{Error: fmt.Sprintf("image digest: %v", err)}
	}
	return img, fetchproto.Header{Digest: h.Hex}
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

// stream sends img's layers in order, each as its uncompressed tar. An
// error is returned for the caller to report in an error record.
func stream(w *fetchproto.Writer, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("list layers: %w", err)
	}
	if err := w.Layers(len(layers)); err != nil {
		return err
	}
	buf := make([]byte, fetchproto.MaxPayload)
	for _, l := range layers {
		if err := sendLayer(w, l, buf); err != nil {
			return err
		}
	}
	return w.Done()
}

// sendLayer sends one layer; leolab numbers the layers and reports progress.
func sendLayer(w *fetchproto.Writer, l v1.Layer, buf []byte) error {
	size, _ := l.Size()
	if err := w.LayerStart(size); err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(w, rc, buf)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return w.LayerEnd()
}
