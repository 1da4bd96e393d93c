package ctlwire

import "errors"

// ExecRequest is a client's request to run a command in the node; with
// Tty the node allocates a pty of Rows×Cols, otherwise three pipe ends
// (stdin, stdout, stderr) come with the frame.
type ExecRequest struct {
	Argv, Env  []string
	Tty        bool
	Rows, Cols uint16
}

// ExecEvent is a message on an exec connection: "started" (init → client,
// with the pty master fd when Tty), "signal" (client → init), "exit" (init
// → client; Error says why a command could not run).
type ExecEvent struct {
	Type   string
	Signal int
	Code   int
	Error  string
}

// The exec messages have their own encoding instead of JSON: exec's fast
// path must not initialise encoding/json and reflection, and the exact
// bytes of every argument go through (JSON would replace invalid UTF-8).
// Frame bodies:
//
//	request: 'Q' flags:u8 rows:u16 cols:u16 argv:list env:list
//	event:   'V' type:str signal:u32 code:u32 error:str
//
// where list is count:u32 then count strs, str is len:u32 then the bytes,
// all big-endian; flags bit 0 is Tty; signal and code are int32. A frame
// is exactly one message: short, long or unknown frames are errors.
const (
	requestTag = 'Q'
	eventTag   = 'V'
)

// Append appends r's encoding to b.
func (r ExecRequest) Append(b []byte) []byte {
	var flags byte
	if r.Tty {
		flags = 1
	}
	b = append(b, requestTag, flags)
	b = appendU16(b, r.Rows)
	b = appendU16(b, r.Cols)
	b = appendList(b, r.Argv)
	return appendList(b, r.Env)
}

// Parse decodes a frame body into r.
func (r *ExecRequest) Parse(b []byte) error {
	w := reader{b: b}
	w.tag(requestTag)
	flags := w.u8()
	*r = ExecRequest{Tty: flags&1 != 0}
	r.Rows = w.u16()
	r.Cols = w.u16()
	r.Argv = w.list()
	r.Env = w.list()
	if w.err == nil && flags&^1 != 0 {
		w.err = errors.New("unknown flags")
	}
	return w.done("decode exec request")
}

// Append appends e's encoding to b.
func (e ExecEvent) Append(b []byte) []byte {
	b = append(b, eventTag)
	b = appendStr(b, e.Type)
	b = appendU32(b, uint32(int32(e.Signal)))
	b = appendU32(b, uint32(int32(e.Code)))
	return appendStr(b, e.Error)
}

// Parse decodes a frame body into e.
func (e *ExecEvent) Parse(b []byte) error {
	w := reader{b: b}
	w.tag(eventTag)
	*e = ExecEvent{Type: w.str()}
	e.Signal = int(int32(w.u32()))
	e.Code = int(int32(w.u32()))
	e.Error = w.str()
	return w.done("decode exec event")
}

func appendU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func u32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

func appendStr(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

func appendList(b []byte, l []string) []byte {
	b = appendU32(b, uint32(len(l)))
	for _, s := range l {
		b = appendStr(b, s)
	}
	return b
}

// reader decodes a frame body; the first error sticks and every later
// read returns a zero value.
type reader struct {
	b   []byte
	err error
}

var errShortFrame = errors.New("frame ends early")

func (w *reader) take(n uint64) []byte {
	if w.err != nil {
		return nil
	}
	if n > uint64(len(w.b)) {
		w.err = errShortFrame
		return nil
	}
	p := w.b[:n]
	w.b = w.b[n:]
	return p
}

func (w *reader) tag(want byte) {
	if p := w.take(1); p != nil && p[0] != want {
		w.err = errors.New("unexpected message tag")
	}
}

func (w *reader) u8() byte {
	if p := w.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (w *reader) u16() uint16 {
	if p := w.take(2); p != nil {
		return uint16(p[0])<<8 | uint16(p[1])
	}
	return 0
}

func (w *reader) u32() uint32 {
	if p := w.take(4); p != nil {
		return u32(p)
	}
	return 0
}

func (w *reader) str() string {
	n := w.u32()
	return string(w.take(uint64(n)))
}

func (w *reader) list() []string {
	n := w.u32()
	// Every string takes at least its 4-byte length: a count the rest of
	// the frame cannot hold is refused before anything is allocated.
	if w.err == nil && uint64(n) > uint64(len(w.b)/4) {
		w.err = errShortFrame
	}
	if w.err != nil || n == 0 {
		return nil
	}
	l := make([]string, 0, n)
	for i := uint32(0); i < n && w.err == nil; i++ {
		l = append(l, w.str())
	}
	return l
}

func (w *reader) done(what string) error {
	if w.err == nil && len(w.b) != 0 {
		w.err = errors.New("bytes after the message")
	}
	if w.err != nil {
		return wrap(what, w.err)
	}
	return nil
}
