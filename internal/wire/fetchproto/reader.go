package fetchproto

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Reader is leolab's side of the stream. It checks the record order, so a
// stream that stops early or out of order is an ErrStream error, never a
// short image; an E record is a *FetchError. Errors are sticky.
type Reader struct {
	r       *bufio.Reader
	buf     []byte
	chunk   []byte // unread part of the current data record
	layers  int    // announced
	started int    // layers started so far
	inLayer bool
	err     error
}

// NewReader reads records from r.
func NewReader(r io.Reader) *Reader {
	// A small buffer: payload reads of its size or more go straight from
	// the pipe into buf, so no layer byte is copied twice.
	return &Reader{r: bufio.NewReader(r), buf: make([]byte, MaxPayload), layers: -1}
}

// Header reads the header record.
func (r *Reader) Header() (Header, error) {
	var h Header
	p, err := r.expect(recHeader, "the header")
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(p, &h); err != nil {
		return h, r.fail(fmt.Errorf("%w: bad header: %v", ErrStream, err))
	}
	return h, nil
}

// Layers reads how many layers follow.
func (r *Reader) Layers() (int, error) {
	p, err := r.expect(recLayers, "the layer count")
	if err != nil {
		return 0, err
	}
	if len(p) != 4 {
		return 0, r.fail(fmt.Errorf("%w: layer count of %d bytes", ErrStream, len(p)))
	}
	r.layers = int(binary.BigEndian.Uint32(p))
	return r.layers, nil
}

// NextLayer skips what is left of the current layer, starts the next one
// and returns its compressed size; Read then returns its data.
func (r *Reader) NextLayer() (int64, error) {
	if err := r.finishLayer(); err != nil {
		return 0, err
	}
	if r.started >= r.layers {
		return 0, r.fail(fmt.Errorf("%w: no layer %d (%d announced)", ErrStream, r.started+1, r.layers))
	}
	p, err := r.expect(recLayer, fmt.Sprintf("layer %d of %d", r.started+1, r.layers))
	if err != nil {
		return 0, err
	}
	if len(p) != 8 {
		return 0, r.fail(fmt.Errorf("%w: layer size of %d bytes", ErrStream, len(p)))
	}
	r.started++
	r.inLayer = true
	return int64(binary.BigEndian.Uint64(p)), nil
}

// Read reads the current layer's uncompressed tar; io.EOF at its end.
func (r *Reader) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if !r.inLayer {
		return 0, io.EOF
	}
	for len(r.chunk) == 0 {
		if err := r.nextChunk(); err != nil {
			return 0, err
		}
		if !r.inLayer {
			return 0, io.EOF
		}
	}
	n := copy(b, r.chunk)
	r.chunk = r.chunk[n:]
	return n, nil
}

// Done reads the record ending a complete stream (after the last layer)
// and checks that nothing follows it.
func (r *Reader) Done() error {
	if err := r.finishLayer(); err != nil {
		return err
	}
	if r.started != r.layers {
		return r.fail(fmt.Errorf("%w: stream done after %d of %d layers", ErrStream, r.started, r.layers))
	}
	if _, err := r.expect(recDone, "the end of the stream"); err != nil {
		return err
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return r.fail(fmt.Errorf("%w: data after the end of the stream", ErrStream))
	}
	return nil
}

// nextChunk reads the current layer's next record: data or its end.
func (r *Reader) nextChunk() error {
	typ, p, err := r.next("the rest of a layer") // per record: no formatting
	if err != nil {
		return err
	}
	switch {
	case typ == recData:
		r.chunk = p
	case typ == recEnd && len(p) == 0:
		r.inLayer = false
	default:
		return r.fail(fmt.Errorf("%w: record %q (%d bytes) inside layer %d", ErrStream, typ, len(p), r.started))
	}
	return nil
}

func (r *Reader) finishLayer() error {
	if r.err != nil {
		return r.err
	}
	for r.inLayer {
		r.chunk = nil
		if err := r.nextChunk(); err != nil {
			return err
		}
	}
	return nil
}

// expect reads one record, which must be of type typ (or an error record).
func (r *Reader) expect(typ byte, what string) ([]byte, error) {
	got, p, err := r.next(what)
	if err != nil {
		return nil, err
	}
	if got != typ || (typ == recDone && len(p) != 0) {
		return nil, r.fail(fmt.Errorf("%w: record %q (%d bytes) instead of %s", ErrStream, got, len(p), what))
	}
	return p, nil
}

// next reads one record; what names the record expected, for errors. An
// error record becomes a *FetchError.
func (r *Reader) next(what string) (byte, []byte, error) {
	if r.err != nil {
		return 0, nil, r.err
	}
	var hdr [5]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return 0, nil, r.fail(cut(err, what))
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxPayload {
		return 0, nil, r.fail(fmt.Errorf("%w: record %q of %d bytes (the limit is %d)", ErrStream, hdr[0], n, MaxPayload))
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.r, p); err != nil {
		return 0, nil, r.fail(cut(err, what))
	}
	if hdr[0] == recError {
		return 0, nil, r.fail(&FetchError{Msg: string(p)})
	}
	return hdr[0], p, nil
}

// cut describes a read that found no complete record.
func cut(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: ended before %s", ErrStream, what)
	}
	return fmt.Errorf("%w: reading %s: %w", ErrStream, what, err)
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}
