package fetchproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// layers of the test stream; the second spans several data records.
var testLayers = [][]byte{[]byte("first layer"), bytes.Repeat([]byte("0123456789"), MaxPayload/4)}

// completeStream is a whole, valid stream after the header.
func completeStream(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must(t, w.Header(Header{Digest: strings.Repeat("0", 64), Name: "index.docker.io/library/x:1"}))
	must(t, w.Layers(len(testLayers)))
	for _, l := range testLayers {
		must(t, w.LayerStart(int64(len(l))))
		if _, err := w.Write(l); err != nil {
			t.Fatal(err)
		}
		must(t, w.LayerEnd())
	}
	must(t, w.Done())
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// readAll reads a stream the way leolab does and returns its layers.
func readAll(r io.Reader) (Header, [][]byte, error) {
	rd := NewReader(r)
	h, err := rd.Header()
	if err != nil {
		return h, nil, err
	}
	n, err := rd.Layers()
	if err != nil {
		return h, nil, err
	}
	var layers [][]byte
	for range n {
		if _, err := rd.NextLayer(); err != nil {
			return h, layers, err
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			return h, layers, err
		}
		layers = append(layers, b)
	}
	return h, layers, rd.Done()
}

func TestRoundTrip(t *testing.T) {
	h, layers, err := readAll(bytes.NewReader(completeStream(t)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "index.docker.io/library/x:1" || len(layers) != len(testLayers) {
		t.Fatalf("header %+v, %d layers", h, len(layers))
	}
	for i := range layers {
		if !bytes.Equal(layers[i], testLayers[i]) {
			t.Errorf("layer %d: %d bytes, want %d", i+1, len(layers[i]), len(testLayers[i]))
		}
	}
}

// Every cut of a complete stream is an ErrStream error, never a short image:
// in particular a cut between records or at the end of a layer's data.
func TestTruncatedStreamIsAnError(t *testing.T) {
	full := completeStream(t)
	cuts := []int{}
	for cut := 0; cut < len(full); cut += 1 + cut/64 {
		cuts = append(cuts, cut)
	}
	for cut := max(0, len(full)-64); cut < len(full); cut++ {
		cuts = append(cuts, cut) // the last records: end of layer, done
	}
	for _, cut := range cuts {
		_, _, err := readAll(bytes.NewReader(full[:cut]))
		if !errors.Is(err, ErrStream) {
			t.Fatalf("stream cut at %d of %d bytes: %v", cut, len(full), err)
		}
	}
	// Bytes after the final record are refused too.
	if _, _, err := readAll(bytes.NewReader(append(full, 'F'))); !errors.Is(err, ErrStream) {
		t.Errorf("trailing data: %v", err)
	}
}

func TestErrorRecord(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must(t, w.Header(Header{Digest: strings.Repeat("0", 64)}))
	must(t, w.Layers(2))
	must(t, w.LayerStart(3))
	w.Write([]byte("abc"))
	must(t, w.Fail("blob unknown"))
	_, layers, err := readAll(&buf)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Msg != "blob unknown" || errors.Is(err, ErrStream) || len(layers) != 0 {
		t.Errorf("error record read as %v (%d layers)", err, len(layers))
	}
}

func TestBadStreams(t *testing.T) {
	rec := func(typ byte, payload []byte) []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		must(t, w.record(typ, payload))
		must(t, w.Flush())
		return buf.Bytes()
	}
	hdr := rec(recHeader, []byte(`{"digest":"x"}`))
	for name, stream := range map[string][]byte{
		"no header":          rec(recLayers, putUint32(0)),
		"bad header":         rec(recHeader, []byte("{")),
		"oversized record":   append(hdr, recLayers, 0xff, 0xff, 0xff, 0xff),
		"done before layers": append(hdr, rec(recDone, nil)...),
		"layer missing":      slices(hdr, rec(recLayers, putUint32(1)), rec(recDone, nil)),
		"extra layer":        slices(hdr, rec(recLayers, putUint32(0)), rec(recLayer, putInt64(0))),
		"header inside layer": slices(hdr, rec(recLayers, putUint32(1)), rec(recLayer, putInt64(0)),
			rec(recData, []byte("a")), rec(recHeader, nil)),
	} {
		if _, _, err := readAll(bytes.NewReader(stream)); !errors.Is(err, ErrStream) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func slices(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestLongHeaderErrorFits(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must(t, w.Header(Header{Error: strings.Repeat("\x01", 4*MaxPayload)}))
	h, err := NewReader(&buf).Header()
	if err != nil || len(h.Error) != maxHeaderError {
		t.Errorf("header error of %d bytes: %v", len(h.Error), err)
	}
}

func ExampleArgs() {
	fmt.Println(Args(KindRemote, "alpine:3.20", "linux/amd64"))
	// Output: [leolab-fetch docker alpine:3.20 linux/amd64]
}
