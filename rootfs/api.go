// Package rootfs owns leolab's root filesystem images: it resolves a node's
// rootfs source (busybox, host, a directory, a tarball, an OCI layout, a
// docker archive, a registry reference, or Debian packages built by
// mmdebstrap) into a read-only tree cached by
// content digest under <root>/images, and describes each node's private layer
// (an overlay, a full copy, or for `host` a skeleton with read-only binds) as
// a list of mounts.
//
// OCI layouts, docker archives and registry images are read by a separate
// program, the image fetcher (rootfs/ocifetch, embedded from cmd/leolab-fetch
// by make build), which only resolves an image and streams its layers' tars
// here: every archive is unpacked by this package's extractor, in this
// process, and leolab itself links no registry client.
//
// It never mounts anything on the host's mount table: the node runtime
// performs the returned mountspec.Mounts inside the node's own mount
// namespace (the overlay probe runs in a throwaway mount namespace). It never
// writes outside <root>/images and the node directories it is handed, and it
// never deletes across a mount point.
package rootfs

import (
	"fmt"
	"io"
	"time"
)

// Store is the image cache rooted at Root/images. The zero limits mean the
// defaults; a Store may be used by many goroutines and processes at once.
type Store struct {
	Root       string    // data directory ($LEOLAB_ROOT); images live in Root/images
	MaxBytes   int64     // cap on an image's unpacked file bytes; 0 means DefaultMaxBytes
	MaxEntries int       // cap on an image's archive entries; 0 means DefaultMaxEntries
	Progress   io.Writer // pull/unpack progress lines; nil means silent
}

// Image is a resolved, cached root filesystem.
type Image struct {
	Source string // the source, with paths made absolute (e.g. "oci:/abs/dir", "/abs/x.tar")
	Kind   string // one of the Kind* constants
	Digest string // sha256 hex of the cached image ("" for host and dir)
	Dir    string // the tree used as lowerdir ("" for host)
}

// Image kinds.
const (
	KindBusybox       = "busybox"
	KindHost          = "host"
	KindDir           = "dir"
	KindTar           = "tar"
	KindOCI           = "oci"
	KindDockerArchive = "docker-archive"
	KindDocker        = "docker"
	KindDebian        = "debian"
)

// ImageInfo describes one cached image for `leolab image ls`.
type ImageInfo struct {
	Source   string
	Digest   string
	Size     int64
	LastUsed time.Time
	Debian   *DebianInfo // what a Debian image was built from; nil for others
}

// Default limits for unpacking one image.
const (
	DefaultMaxBytes   int64 = 8 << 30
	DefaultMaxEntries       = 1 << 20
)

func (s *Store) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return DefaultMaxBytes
}

func (s *Store) maxEntries() int {
	if s.MaxEntries > 0 {
		return s.MaxEntries
	}
	return DefaultMaxEntries
}

func (s *Store) progressf(format string, args ...any) {
	if s.Progress != nil {
		fmt.Fprintf(s.Progress, format+"\n", args...)
	}
}
