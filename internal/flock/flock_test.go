package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestExclusiveExcludes: a second open file description cannot take a held
// lock, and can once the holder closes its file.
func TestExclusiveExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	a, b := open(t, path), open(t, path)
	if err := Exclusive(a, false); err != nil {
		t.Fatal(err)
	}
	if err := Exclusive(b, false); !errors.Is(err, ErrHeld) {
		t.Fatalf("second holder: err = %v, want ErrHeld", err)
	}
	if !Held(b) {
		t.Error("Held = false while a holds it")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, b); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a done context: %v", err)
	}
	a.Close()
	if err := Wait(context.Background(), b); err != nil {
		t.Errorf("Wait after release: %v", err)
	}
	if err := Exclusive(open(t, path), false); !errors.Is(err, ErrHeld) {
		t.Errorf("after Wait: err = %v, want ErrHeld", err)
	}
}
