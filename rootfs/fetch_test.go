//go:build linux

package rootfs

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leolab/internal/embedded/fetchbin"
	"leolab/internal/wire/fetchproto"
)

// prepareFake prepares the image a fake fetcher (main_test.go) streams.
func prepareFake(ctx context.Context, t *testing.T, s *Store, name string) (Image, error) {
	t.Helper()
	if len(fetchbin.Binary()) > 0 {
		t.Skip("the fake fetchers need this test binary as the fetcher, not the embedded one")
	}
	return s.prepareLayout(ctx, "oci:fake", "fake:"+name)
}

func TestFakeFetcherStreams(t *testing.T) {
	h := newHostile(t)
	img, err := prepareFake(context.Background(), t, h.s, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != fakeDigest {
		t.Errorf("digest %s", img.Digest)
	}
	mustRead(t, filepath.Join(img.Dir, "etc/fake"), "x")
	// Cached now: nothing is built again.
	before := builds.Load()
	if again, err := prepareFake(context.Background(), t, h.s, "ok"); err != nil || again.Dir != img.Dir || builds.Load() != before {
		t.Errorf("cached prepare: %+v %v (builds %d → %d)", again, err, before, builds.Load())
	}
}

// A fetcher that dies, stops early or reports an error never leaves an
// image (or half of one) in the cache, and the error says what happened.
func TestBrokenFetcher(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broken bool     // an ErrStream (else the fetcher reported the error)
		want   []string // in the error
	}{
		{"crash-first", true, []string{"ended before the header", "exit status 3", "crashed before the header"}},
		{"exit-mid-layer", true, []string{"layer 1: ", "image stream broken", "exit status 2", "out of memory"}},
		{"exit-at-boundary", true, []string{"layer 2: ", "ended before layer 2 of 2", "exit status 0"}},
		{"done-early", true, []string{"layer 2: ", "instead of layer 2 of 2"}},
		{"error-record", false, []string{"layer 1: ", "registry reset the connection"}},
		{"fail-after-done", true, []string{"after sending every layer", "exit status 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t)
			_, err := prepareFake(context.Background(), t, h.s, tc.name)
			if err == nil || errors.Is(err, fetchproto.ErrStream) != tc.broken {
				t.Fatalf("Prepare: %v", err)
			}
			t.Logf("refused: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			assertCacheEmpty(t, h.s)
		})
	}
}

// Cancelling the context kills a fetcher that stopped sending.
func TestFetcherKilledOnCancel(t *testing.T) {
	h := newHostile(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.s.Progress = writerFunc(func(p []byte) {
		if strings.HasPrefix(string(p), "layer 1/2") {
			time.AfterFunc(50*time.Millisecond, cancel)
		}
	})
	start := time.Now()
	_, err := prepareFake(ctx, t, h.s, "hang")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare: %v", err)
	}
	t.Logf("refused: %v", err)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	assertCacheEmpty(t, h.s)
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// The fetcher gets only the environment the registry access needs.
func TestFetcherEnv(t *testing.T) {
	h := newHostile(t)
	t.Setenv("LEOLAB_TEST_SECRET", "1")
	t.Setenv("DOCKER_CONFIG", "/nonexistent/docker")
	_, err := prepareFake(context.Background(), t, h.s, "env")
	if err == nil {
		t.Fatal("the env fetcher reports through an error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "env: ") || strings.Contains(msg, "LEOLAB_TEST_SECRET") || !strings.Contains(msg, " DOCKER_CONFIG=/nonexistent/docker ") {
		t.Errorf("fetcher environment: %s", msg)
	}
}
