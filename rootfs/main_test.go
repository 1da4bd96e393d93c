//go:build linux

package rootfs

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"leolab/internal/wire/fetchproto"
	"leolab/rootfs/ocifetch"
)

// The test binary is its own image fetcher (nothing is embedded under go
// test): re-executed as leolab-fetch, it runs ocifetch, or for a target
// "fake:NAME" one of the scripted misbehaving fetchers below.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[0] == fetchproto.Arg0 {
		if name, ok := strings.CutPrefix(os.Args[2], "fake:"); ok {
			os.Exit(runFakeFetcher(name))
		}
	}
	ocifetch.MaybeRun()
	os.Exit(m.Run())
}

// fakeDigest is the digest every fake fetcher announces.
var fakeDigest = strings.Repeat("ab", 32)

// fakeLayer is a valid uncompressed layer.
var fakeLayer = func() []byte {
	var t testing.T
	return tarBytes(&t, dir("etc"), file("etc/fake", "x"))
}()

// runFakeFetcher plays the fetcher's part of the protocol, then breaks it
// in the way name says. Its result is the exit status.
func runFakeFetcher(name string) int {
	w := fetchproto.NewWriter(os.Stdout)
	if name == "crash-first" {
		fmt.Fprintln(os.Stderr, "fake: crashed before the header")
		return 3
	}
	if name == "env" {
		w.Header(fetchproto.Header{Error: "env: " + strings.Join(os.Environ(), " ") + " "})
		return 0
	}
	if w.Header(fetchproto.Header{Digest: fakeDigest, Name: "fake/ref:latest"}) != nil {
		return 1
	}
	var b [1]byte
	if _, err := io.ReadFull(os.Stdin, b[:]); err != nil || b[0] != fetchproto.Send {
		return 0
	}
	w.Layers(2)
	w.LayerStart(int64(len(fakeLayer)))
	switch name {
	case "ok":
		writeBothLayers(w)
	case "exit-mid-layer": // half a layer, then gone: a crash or a kill
		w.Write(fakeLayer[:1024]) // cut at a tar block boundary
		w.Flush()
		fmt.Fprintln(os.Stderr, "fake: out of memory")
		return 2
	case "exit-at-boundary": // a whole layer, then gone before the next one
		w.Write(fakeLayer)
		w.LayerEnd()
		w.Flush()
		return 0
	case "done-early": // claims completion after one of two layers
		w.Write(fakeLayer)
		w.LayerEnd()
		w.Done()
	case "error-record":
		w.Write(fakeLayer[:1024])
		w.Fail("registry reset the connection")
		return 1
	case "fail-after-done":
		writeBothLayers(w)
		return 1
	case "hang":
		w.Write(fakeLayer[:1024])
		w.Flush()
		time.Sleep(time.Hour)
	}
	return 0
}

// writeBothLayers finishes the first layer (already started), sends the
// second and ends the stream.
func writeBothLayers(w *fetchproto.Writer) {
	w.Write(fakeLayer)
	w.LayerEnd()
	w.LayerStart(int64(len(fakeLayer)))
	w.Write(fakeLayer)
	w.LayerEnd()
	w.Done()
}
