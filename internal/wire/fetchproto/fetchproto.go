// Package fetchproto owns the protocol between leolab and its image fetcher
// (cmd/leolab-fetch, package rootfs/ocifetch): how leolab names the image to
// fetch, the header the fetcher answers with, and the self-delimiting
// records that carry each layer's uncompressed tar back. It imports only the
// standard library, so leolab speaks it without linking the fetcher's
// dependencies.
//
// The fetcher runs as
//
//	leolab-fetch KIND TARGET OS/ARCH
//
// with stdin and stdout connected to leolab. It writes records to stdout;
// each is a type byte, a 4-byte big-endian payload length (at most
// MaxPayload) and the payload:
//
//	H  the header (JSON Header); the fetcher then reads one byte from stdin:
//	   Send makes it go on, anything else (end of input) makes it exit
//	N  the number of layers that follow (4 bytes)
//	L  a layer starts: its compressed size (8 bytes, signed)
//	D  a chunk of the current layer's uncompressed tar
//	Z  the current layer ends
//	E  an error message; the stream ends with it
//	F  done: every announced layer was sent; the stream ends with it
//
// After Send the stream is N (L D* Z)×N F, and an E may stand in for any of
// those records. A stream that stops anywhere else, or holds anything else,
// is broken (ErrStream): a Reader never takes it for a complete image.
package fetchproto

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
)

// Arg0 is the argv[0] that makes a program run as the fetcher.
const Arg0 = "leolab-fetch"

// Kinds of image source: argv[1] of the fetcher. argv[2] is the layout
// directory, the archive's path or the registry reference.
const (
	KindLayout        = "oci-layout"     // an OCI image layout directory
	KindDockerArchive = "docker-archive" // a `docker save` tarball
	KindRemote        = "docker"         // a registry reference, pulled
)

// Send is leolab's answer to the header when it wants the layers; the
// end of the fetcher's stdin instead means the image is cached already.
const Send byte = 'y'

// Record types.
const (
	recHeader = 'H'
	recLayers = 'N'
	recLayer  = 'L'
	recData   = 'D'
	recEnd    = 'Z'
	recError  = 'E'
	recDone   = 'F'
)

// MaxPayload bounds every record's payload; data records carry at most this
// much of a layer each.
const MaxPayload = 256 << 10

// Header is the fetcher's first record: the image it resolved, or why it
// could not resolve one. Nothing follows a header with an Error.
type Header struct {
	// Digest is the image manifest's sha256 (hex). Docker archives, which
	// leolab keys by the archive's own digest, have none.
	Digest string `json:"digest,omitempty"`
	// Name is the normalised registry reference (KindRemote), set as soon
	// as the reference parsed, even when the registry then failed.
	Name string `json:"name,omitempty"`
	// Error says why the image could not be resolved.
	Error string `json:"error,omitempty"`
	// PullFailed marks an Error from the registry itself (Name is set): an
	// image pulled earlier for the same reference may stand in.
	PullFailed bool `json:"pullFailed,omitempty"`
}

// ErrStream marks a stream that broke off or broke the protocol: the
// fetcher crashed, exited early or misbehaved, and the image is incomplete.
var ErrStream = errors.New("image stream broken")

// FetchError is an error the fetcher reported in an E record.
type FetchError struct{ Msg string }

func (e *FetchError) Error() string { return e.Msg }

// Args is the fetcher's argv for one image.
func Args(kind, target, platform string) []string {
	return []string{Arg0, kind, target, platform}
}

var selfFetcher atomic.Bool

// MarkSelfFetcher records that this program runs as the fetcher when
// re-executed with argv[0] Arg0 (ocifetch.MaybeRun calls it): leolab can
// then use /proc/self/exe when it carries no embedded fetcher.
func MarkSelfFetcher() { selfFetcher.Store(true) }

// SelfFetcher reports whether MarkSelfFetcher was called.
func SelfFetcher() bool { return selfFetcher.Load() }

func putUint32(n int) []byte  { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
func putInt64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }
