package rootfs

import (
	"bytes"
	"reflect"
	"testing"
)

// TestProgressLog: everything goes to the log, only the builder's status
// lines to the progress, and partial lines wait for their end.
func TestProgressLog(t *testing.T) {
	var log bytes.Buffer
	var lines []string
	p := &progressLog{log: &log, tail: &tailWriter{}, line: func(l string) { lines = append(lines, l) }}
	out := "I: running apt-get update...\nGet:1 http://deb.debian.org bookworm InRelease\nW: a warn"
	for _, chunk := range []string{out[:10], out[10:40], out[40:]} {
		p.Write([]byte(chunk))
	}
	p.Write([]byte("ing\nE: Unable to locate package x\r\n"))
	p.flush()
	want := []string{"I: running apt-get update...", "W: a warning", "E: Unable to locate package x"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("progress %q, want %q", lines, want)
	}
	if log.String() != out+"ing\nE: Unable to locate package x\r\n" {
		t.Errorf("log %q", log.String())
	}
	if got := p.tail.lastLines(2); got != "W: a warning\nE: Unable to locate package x" {
		t.Errorf("tail %q", got)
	}
}
