package render

import (
	"bytes"
	"strings"
	"testing"

	"leolab/labs/view"
)

func TestPingMatrixColour(t *testing.T) {
	results := []view.PingResult{{From: "a", To: "b", OK: true}, {From: "b", To: "a"}}
	var plain, color bytes.Buffer
	if lost := PingMatrix(&plain, results, false); lost != 1 {
		t.Errorf("lost = %d, want 1", lost)
	}
	PingMatrix(&color, results, true)
	if want := "a -> b\nb -> X\n*** Results: 50% dropped (1/2 received)\n"; plain.String() != want {
		t.Errorf("matrix:\n%q\nwant:\n%q", plain.String(), want)
	}
	if want := "a -> b\nb -> \x1b[31mX\x1b[0m\n\x1b[31m*** Results: 50% dropped (1/2 received)\x1b[0m\n"; color.String() != want {
		t.Errorf("lost ping and lossy summary not red:\n%q\nwant:\n%q", color.String(), want)
	}
}

func TestPingMatrixClean(t *testing.T) {
	results := []view.PingResult{{From: "a", To: "b", OK: true}, {From: "a", To: "c", OK: true},
		{From: "b", To: "a", OK: true}, {From: "b", To: "c", OK: true}}
	var plain, color bytes.Buffer
	if lost := PingMatrix(&plain, results, false); lost != 0 {
		t.Errorf("lost = %d, want 0", lost)
	}
	if want := "a -> b c\nb -> a c\n*** Results: 0% dropped (4/4 received)\n"; plain.String() != want {
		t.Errorf("matrix:\n%q\nwant:\n%q", plain.String(), want)
	}
	PingMatrix(&color, results, true)
	if !strings.HasSuffix(color.String(), "\x1b[32m*** Results: 0% dropped (4/4 received)\x1b[0m\n") {
		t.Errorf("clean summary not green:\n%q", color.String())
	}
}

func TestPingMatrixDualStack(t *testing.T) {
	results := []view.PingResult{{From: "a", To: "b", OK: true}, {From: "b", To: "a", OK: true},
		{From: "a", To: "b", OK: true, IPv6: true}, {From: "b", To: "a", IPv6: true}}
	var out bytes.Buffer
	if lost := PingMatrix(&out, results, false); lost != 1 {
		t.Errorf("lost = %d, want 1", lost)
	}
	want := "IPv4:\na -> b\nb -> a\nIPv6:\na -> b\nb -> X\n*** Results: 25% dropped (3/4 received)\n"
	if out.String() != want {
		t.Errorf("matrix:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestPingMatrixEmpty: a lab of one node pings nothing and loses nothing.
func TestPingMatrixEmpty(t *testing.T) {
	var out bytes.Buffer
	if lost := PingMatrix(&out, nil, false); lost != 0 {
		t.Errorf("lost = %d, want 0", lost)
	}
	if want := "*** Results: 0% dropped (0/0 received)\n"; out.String() != want {
		t.Errorf("matrix: %q, want %q", out.String(), want)
	}
}
