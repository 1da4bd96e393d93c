package ocifetch

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"leolab/internal/wire/fetchproto"
)

// closeInherited closes exactly the fds without close-on-exec.
func TestCloseInherited(t *testing.T) {
	inherited, err := unix.Open(os.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	own, err := unix.Open(os.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(own)
	if err := closeInherited(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(inherited), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		unix.Close(inherited)
		t.Errorf("inherited fd still open: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(own), unix.F_GETFD, 0); err != nil {
		t.Errorf("close-on-exec fd closed: %v", err)
	}
}

// A source that cannot be resolved is reported in the header, and the
// fetcher exits without waiting for an answer.
func TestRunReportsInHeader(t *testing.T) {
	for _, tc := range []struct{ kind, target, want string }{
		{fetchproto.KindLayout, t.TempDir(), "read OCI layout: "},
		{fetchproto.KindDockerArchive, "/nonexistent.tar", "read docker archive: "},
		{fetchproto.KindRemote, "Not A Reference", "parse image reference: "},
		{"bogus", "x", `unknown image source kind "bogus"`},
	} {
		var out bytes.Buffer
		if code := Run([]string{tc.kind, tc.target, "linux/amd64"}, strings.NewReader(""), &out); code != 0 {
			t.Errorf("%s: exit %d", tc.kind, code)
		}
		h, err := fetchproto.NewReader(&out).Header()
		if err != nil || !strings.HasPrefix(h.Error, tc.want) || h.PullFailed || h.Name != "" {
			t.Errorf("%s: header %+v, %v", tc.kind, h, err)
		}
	}
}

// A registry nobody listens at fails the pull at once, before the registry
// client and its retries: the header says it could not be reached.
func TestRunUnreachableRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // now refused
	var out bytes.Buffer
	if code := Run([]string{fetchproto.KindRemote, addr + "/lab/frr:v1", "linux/amd64"}, strings.NewReader(""), &out); code != 0 {
		t.Errorf("exit %d", code)
	}
	h, err := fetchproto.NewReader(&out).Header()
	if err != nil || !h.PullFailed || !strings.HasPrefix(h.Error, "cannot reach registry "+addr+": ") {
		t.Errorf("header %+v, %v", h, err)
	}
}
