package rootfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"leolab/internal/embedded/fetchbin"
	"leolab/internal/embedded/memfd"
	"leolab/internal/wire/fetchproto"
)

// OCI layouts, docker archives and registry images are read by a separate
// program, the fetcher (cmd/leolab-fetch, package rootfs/ocifetch), so that
// leolab itself links neither go-containerregistry nor net/http. It runs
// only while such an image is prepared, and only resolves images and
// streams their layers' tars (fetchproto); the extractor here unpacks them,
// with every check it applies to any archive.

// fetchEnvKeys are the only variables the fetcher inherits: what the
// registry keychain reads (docker and podman credentials, credential
// helpers found on PATH), proxies and extra TLS roots.
var fetchEnvKeys = []string{
	"HOME", "DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE", "PATH",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// fetchGrace is how long a fetcher that has stopped talking may take to
// exit before it is killed.
const fetchGrace = time.Second

// errNoFetcher is a leolab built without make build: no fetcher embedded,
// and this binary does not serve as one either.
var errNoFetcher = errors.New("this leolab binary carries no image fetcher for OCI and docker images; build it with make build")

// fetchExe is the program the fetcher runs from: the embedded one in a
// sealed memfd when this binary carries it, else this binary when it serves
// as the fetcher (tests whose TestMain calls ocifetch.MaybeRun).
var fetchExe = sync.OnceValues(func() (string, error) {
	bin := fetchbin.Binary()
	if len(bin) == 0 {
		if fetchproto.SelfFetcher() {
			return "/proc/self/exe", nil
		}
		return "", errNoFetcher
	}
	path, _, err := memfd.Executable(fetchproto.Arg0, bin)
	if err != nil {
		return "", fmt.Errorf("image fetcher: %w", err)
	}
	return path, nil
})

// hostPlatform is the platform images are pulled for.
func hostPlatform() string { return "linux/" + runtime.GOARCH }

func fetchEnv() []string {
	var env []string
	for _, k := range fetchEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// fetcher is one run of the fetcher, for one image.
type fetcher struct {
	ctx     context.Context
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	r       *fetchproto.Reader
	stderr  *tailWriter
	exited  bool // waited for
	exitErr error
}

// startFetch starts the fetcher for one image and reads its header; the
// caller closes the fetcher. A header with an Error is returned as is.
// The fetcher dies with ctx.
func startFetch(ctx context.Context, kind, target string) (*fetcher, fetchproto.Header, error) {
	var h fetchproto.Header
	exe, err := fetchExe()
	if err != nil {
		return nil, h, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = fetchproto.Args(kind, target, hostPlatform())
	cmd.Env = fetchEnv()
	cmd.WaitDelay = fetchGrace // a credential helper holding stderr cannot stall Wait
	f := &fetcher{ctx: ctx, cmd: cmd, stderr: &tailWriter{}}
	cmd.Stderr = f.stderr
	if f.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, h, fmt.Errorf("start image fetcher: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		f.stdin.Close()
		return nil, h, fmt.Errorf("start image fetcher: %w", err)
	}
	f.r = fetchproto.NewReader(stdout)
	if h, err = f.r.Header(); err == nil {
		err = checkHeader(kind, h)
	}
	if err != nil {
		return nil, h, f.failed(err)
	}
	return f, h, nil
}

// checkHeader refuses a header leolab could not use safely: a digest names
// a cache directory.
func checkHeader(kind string, h fetchproto.Header) error {
	switch {
	case h.Error != "":
		return nil
	case kind != fetchproto.KindDockerArchive && !isDigest(h.Digest):
		return fmt.Errorf("%w: bad image digest %q", fetchproto.ErrStream, h.Digest)
	case kind == fetchproto.KindRemote && h.Name == "":
		return fmt.Errorf("%w: no reference name", fetchproto.ErrStream)
	}
	return nil
}

// send asks for the layers and returns how many follow.
func (f *fetcher) send() (int, error) {
	_, err := f.stdin.Write([]byte{fetchproto.Send})
	f.stdin.Close()
	if err != nil {
		return 0, f.failed(fmt.Errorf("%w: answer the fetcher: %w", fetchproto.ErrStream, err))
	}
	n, err := f.r.Layers()
	if err != nil {
		return 0, f.failed(err)
	}
	return n, nil
}

// finish reads the end of a complete stream; the fetcher must then exit 0.
func (f *fetcher) finish() error {
	if err := f.r.Done(); err != nil {
		return f.failed(err)
	}
	f.stop(false)
	if f.exitErr != nil {
		return f.failed(fmt.Errorf("%w: the fetcher failed after sending every layer", fetchproto.ErrStream))
	}
	return nil
}

// close ends the fetcher; one not asked for the layers sees its stdin end
// and exits.
func (f *fetcher) close() { f.stop(false) }

// stop waits for the fetcher to exit: killed at once, or given fetchGrace.
func (f *fetcher) stop(kill bool) {
	if f.exited {
		return
	}
	f.exited = true
	f.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- f.cmd.Wait() }()
	if !kill {
		select {
		case f.exitErr = <-done:
			return
		case <-time.After(fetchGrace):
		}
	}
	_ = f.cmd.Process.Kill()
	f.exitErr = <-done
}

// failed stops the fetcher after err and returns err with what explains
// it: the end of ctx or, for a broken stream, how the fetcher exited; and
// the last lines the fetcher wrote to stderr.
func (f *fetcher) failed(err error) error {
	broken := errors.Is(err, fetchproto.ErrStream)
	f.stop(!broken) // a broken stream's fetcher is exiting: learn how
	if cerr := f.ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return err
		}
		return fmt.Errorf("fetch image: %w", cerr)
	}
	var why []string
	if broken && f.cmd.ProcessState != nil {
		why = append(why, "leolab-fetch "+f.cmd.ProcessState.String())
	}
	if t := f.stderr.tail(); t != "" {
		why = append(why, "leolab-fetch stderr: "+t)
	}
	if len(why) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(why, "; "))
}

// tailWriter keeps the end of what the fetcher writes to stderr.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const (
	tailBytes = 4 << 10
	tailLines = 5
)

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

// tail is the last few non-empty lines, joined by " | ".
func (t *tailWriter) tail() string { return strings.Join(t.lines(tailLines), " | ") }

// lastLines is the last n non-empty lines, one per line.
func (t *tailWriter) lastLines(n int) string { return strings.Join(t.lines(n), "\n") }

func (t *tailWriter) lines(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for _, l := range bytes.Split(t.buf, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, string(l))
		}
	}
	return lines[max(0, len(lines)-n):]
}
