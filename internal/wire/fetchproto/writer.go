package fetchproto

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Writer is the fetcher's side of the stream.
type Writer struct {
	w *bufio.Writer
}

// NewWriter writes records to w (buffered; each method that ends a phase
// flushes).
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 2*MaxPayload)}
}

// maxHeaderError bounds a header's error message, so the header fits a
// record even with every byte escaped.
const maxHeaderError = MaxPayload / 8

// Header writes the header record.
func (w *Writer) Header(h Header) error {
	if len(h.Error) > maxHeaderError {
		h.Error = h.Error[:maxHeaderError]
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode header: %w", err)
	}
	return w.flushed(w.record(recHeader, b))
}

// Layers announces how many layers follow.
func (w *Writer) Layers(n int) error {
	if n < 0 || n > math.MaxUint32 {
		return fmt.Errorf("cannot announce %d layers", n)
	}
	return w.record(recLayers, putUint32(n))
}

// LayerStart starts a layer of the given compressed size; flushed, so leolab
// reports progress before the layer's data arrives.
func (w *Writer) LayerStart(size int64) error {
	return w.flushed(w.record(recLayer, putInt64(size)))
}

// Write sends p as data records of the current layer.
func (w *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p[:min(len(p), MaxPayload)]
		if err := w.record(recData, c); err != nil {
			return n, err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}

// LayerEnd ends the current layer.
func (w *Writer) LayerEnd() error { return w.record(recEnd, nil) }

// Fail sends an error record, which ends the stream.
func (w *Writer) Fail(msg string) error {
	if len(msg) > MaxPayload {
		msg = msg[:MaxPayload]
	}
	return w.flushed(w.record(recError, []byte(msg)))
}

// Done ends a complete stream.
func (w *Writer) Done() error { return w.flushed(w.record(recDone, nil)) }

// Flush sends what is buffered.
func (w *Writer) Flush() error { return w.flushed(nil) }

func (w *Writer) record(typ byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write %c record: %w", typ, err)
	}
	if _, err := w.w.Write(payload); err != nil {
		return fmt.Errorf("write %c record: %w", typ, err)
	}
	return nil
}

func (w *Writer) flushed(err error) error {
	if err != nil {
		return err
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("flush stream: %w", err)
	}
	return nil
}
