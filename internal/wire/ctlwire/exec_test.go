package ctlwire

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestExecMessagesRoundTrip(t *testing.T) {
	requests := []ExecRequest{
		{Argv: []string{"true"}},
		{Argv: []string{"/bin/sh", "-c", "echo 'é' \x00 end \xff"}, Env: []string{"A=1", "EMPTY="}, Tty: true, Rows: 50, Cols: 132},
		{Argv: []string{"", strings.Repeat("x", 70000)}},
		{},
	}
	for _, want := range requests {
		var got ExecRequest
		if err := got.Parse(want.Append(nil)); err != nil {
			t.Fatalf("%+v: %v", want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("request round trip: got %+v, want %+v", got, want)
		}
	}
	for _, want := range []ExecEvent{
		{Type: "started"},
		{Type: "signal", Signal: 15},
		{Type: "exit", Code: 127, Error: "nosuch: not found"},
		{Type: "exit", Code: -1},
	} {
		var got ExecEvent
		if err := got.Parse(want.Append(nil)); err != nil {
			t.Fatalf("%+v: %v", want, err)
		}
		if got != want {
			t.Errorf("event round trip: got %+v, want %+v", got, want)
		}
	}
}

// Every proper prefix of a valid frame, and the frame with a byte more,
// is an error, never a panic or a shorter message.
func TestExecMessagesRefuseShortAndLongFrames(t *testing.T) {
	req := ExecRequest{Argv: []string{"ping", "-c", "1", "h2"}, Env: []string{"X=y"}, Tty: true, Rows: 24, Cols: 80}
	ev := ExecEvent{Type: "exit", Code: 1, Error: "boom"}
	for _, frame := range [][]byte{req.Append(nil), ev.Append(nil)} {
		for n := 0; n < len(frame); n++ {
			if err := parseEither(frame[:n]); err == nil {
				t.Errorf("prefix %d of %q decoded", n, frame)
			}
		}
		if err := parseEither(append(bytes.Clone(frame), 0)); err == nil {
			t.Errorf("%q plus one byte decoded", frame)
		}
	}
}

func parseEither(b []byte) error {
	if len(b) > 0 && b[0] == eventTag {
		var ev ExecEvent
		return ev.Parse(b)
	}
	var req ExecRequest
	return req.Parse(b)
}

func TestExecMessagesRefuseBadFrames(t *testing.T) {
	huge := appendU32([]byte{requestTag, 0, 0, 24, 0, 80}, 1<<30) // argv count no frame can hold
	for name, frame := range map[string][]byte{
		"json":          []byte(`{"argv":["true"]}`),
		"unknown flags": append([]byte{requestTag, 2}, make([]byte, 12)...),
		"huge count":    huge,
		"long string":   appendU32([]byte{eventTag}, 1<<31),
		"max string":    appendU32([]byte{eventTag}, 1<<32-1),
	} {
		var req ExecRequest
		var ev ExecEvent
		if req.Parse(frame) == nil || ev.Parse(frame) == nil {
			t.Errorf("%s: %q decoded", name, frame)
		}
	}
	var req ExecRequest
	if err := req.Parse(ExecEvent{Type: "exit"}.Append(nil)); err == nil {
		t.Error("an event decoded as a request")
	}
}

func FuzzExecMessages(f *testing.F) {
	f.Add(ExecRequest{Argv: []string{"true"}, Env: []string{"A=b"}}.Append(nil))
	f.Add(ExecEvent{Type: "exit", Code: 3, Error: "x"}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req ExecRequest
		if req.Parse(b) == nil && !bytes.Equal(req.Append(nil), b) {
			t.Errorf("request %q decoded to %+v, which encodes differently", b, req)
		}
		var ev ExecEvent
		if ev.Parse(b) == nil && !bytes.Equal(ev.Append(nil), b) {
			t.Errorf("event %q decoded to %+v, which encodes differently", b, ev)
		}
	})
}

func socketPair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewConn(fds[0], "a"), NewConn(fds[1], "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// Frames cross a socket with the fds attached; a hang-up is io.EOF.
func TestConnCarriesFramesAndFds(t *testing.T) {
	a, b := socketPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body := bytes.Repeat([]byte("frame"), 100000) // several socket buffers
	go func() {
		a.Send(body, int(w.Fd()))
		w.Close()
		a.SendEvent(ExecEvent{Type: "exit", Code: 7})
		a.Shutdown()
	}()
	got, fds, err := b.Recv()
	if err != nil || !bytes.Equal(got, body) || len(fds) != 1 {
		t.Fatalf("recv: %d bytes, fds %v, %v", len(got), fds, err)
	}
	passed := os.NewFile(uintptr(fds[0]), "passed")
	passed.Write([]byte("through the passed fd"))
	passed.Close()
	if out, _ := io.ReadAll(r); string(out) != "through the passed fd" {
		t.Errorf("pipe read %q", out)
	}
	if ev, _, err := b.RecvEvent(); err != nil || ev.Code != 7 {
		t.Errorf("event %+v, %v", ev, err)
	}
	if _, _, err := b.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after hang-up: %v, want EOF", err)
	}
}

func TestReportExit(t *testing.T) {
	var stderr bytes.Buffer
	code, err := ReportExit(ExecEvent{Type: "exit", Code: 127, Error: "nosuch: not found"}, &stderr)
	if code != 127 || err != nil || stderr.String() != "leolab exec: nosuch: not found\n" {
		t.Errorf("got %d, %v, %q", code, err, stderr.String())
	}
	if _, err := ReportExit(ExecEvent{Type: "st\"x\x01"}, nil); err == nil || err.Error() != `exec: unexpected "st\"x\x01" from node` {
		t.Errorf("unexpected event: %v", err)
	}
}
