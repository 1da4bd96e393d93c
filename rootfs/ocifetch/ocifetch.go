// Package ocifetch is leolab's image fetcher (cmd/leolab-fetch), the only
// code that links go-containerregistry (and with it net/http, TLS and the
// docker config loaders). Given an OCI image layout, a `docker save` archive
// or a registry reference, it resolves the image for a platform, tells
// leolab its digest and, when leolab asks, streams each layer's uncompressed
// tar to leolab in fetchproto records. It never writes an image: leolab
// unpacks the streams with its own safe extractor.
package ocifetch

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"leolab/internal/wire/fetchproto"
)

// MaybeRun runs the fetcher and exits when this process was started as one
// (argv[0] == fetchproto.Arg0); otherwise it marks this program as able to
// serve as the fetcher and returns at once. Call it first thing in main and
// in TestMain of any test package that prepares OCI or docker images.
func MaybeRun() {
	if len(os.Args) == 0 || os.Args[0] != fetchproto.Arg0 {
		fetchproto.MarkSelfFetcher()
		return
	}
	// Started from a memfd path, the kernel named us after the fd number.
	os.WriteFile("/proc/self/comm", []byte(fetchproto.Arg0), 0)
	if err := closeInherited(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", fetchproto.Arg0, err)
		os.Exit(2)
	}
	os.Exit(Run(os.Args[1:], os.Stdin, os.Stdout))
}

// closeInherited closes every fd above stdio that this process inherited.
// Those are exactly the fds without close-on-exec: they survived the exec,
// and the runtime opens all of its own with close-on-exec.
func closeInherited() error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list inherited fds: %w", err)
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err != nil || fd <= 2 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
	}
	return nil
}

// Run is the fetcher's whole life for argv (without argv[0]): the header on
// out, then, if in says so, the layers. Its result is the exit status.
func Run(args []string, in io.Reader, out io.Writer) int {
	if len(args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s KIND TARGET OS/ARCH (run by leolab only)\n", fetchproto.Arg0)
		return 2
	}
	w := fetchproto.NewWriter(out)
	img, h := resolve(args[0], args[1], args[2])
	if err := w.Header(h); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", fetchproto.Arg0, err)
		return 1
	}
	if h.Error != "" || !sendWanted(in) {
		return 0
	}
	if err := stream(w, img); err != nil {
		if werr := w.Fail(err.Error()); werr != nil {
			fmt.Fprintf(os.Stderr, "%s: %v (reporting: %v)\n", fetchproto.Arg0, err, werr)
		}
		return 1
	}
	return 0
}

// sendWanted reads leolab's answer to the header.
func sendWanted(in io.Reader) bool {
	var b [1]byte
	_, err := io.ReadFull(in, b[:])
	return err == nil && b[0] == fetchproto.Send
}
