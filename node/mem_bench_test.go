//go:build linux

package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leolab/internal/nstest"
)

// TestIdleInitMemory reports the PSS and RSS of an idle node whose init is
// this test binary (the node runtime plus the testing package, without the
// CLI's dependencies), to compare with an init of the full leolab binary
// (make bench). It also checks the HostsFile path: the node's /etc/hosts is
// the shared file's content. Memory is reported, never asserted.
func TestIdleInitMemory(t *testing.T) {
	nstest.RequireRoot(t)
	spec := hostsFileSpec(t, "mem")
	p := startNode(t, spec)
	checkSharedHosts(t, spec)
	time.Sleep(200 * time.Millisecond) // let init settle into its idle loop
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && (f[0] == "Rss:" || f[0] == "Pss:" || f[0] == "Pss_Anon:") {
			t.Logf("idle init %s %s kB", f[0], f[1])
		}
	}
}

// TestHostsFileUserNamespace: a user-namespaced init may not read the lab's
// directory, so Start sends the shared hosts file's content inline.
func TestHostsFileUserNamespace(t *testing.T) {
	nstest.RequireRoot(t)
	spec := hostsFileSpec(t, "uh")
	os.Chmod(spec.HostsFile, 0o600) // unreadable to the node's host uid
	spec.UserNamespace, spec.UIDBase = true, 300000
	startNode(t, spec)
	checkSharedHosts(t, spec)
}

const sharedHosts = "127.0.0.1 localhost\n10.0.0.9 shared\n"

// hostsFileSpec is newSpec with /etc/hosts coming from a shared file.
func hostsFileSpec(t *testing.T, name string) Spec {
	t.Helper()
	spec := newSpec(t, name)
	hosts := filepath.Join(spec.StateDir, "hosts")
	if err := os.WriteFile(hosts, []byte(sharedHosts), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Hosts, spec.HostsFile = "", hosts
	return spec
}

func checkSharedHosts(t *testing.T, spec Spec) {
	t.Helper()
	r := run(t, spec, "", "cat", "/etc/hosts")
	if r.code != 0 || r.stdout != sharedHosts {
		t.Fatalf("/etc/hosts = %q (exit %d), want %q", r.stdout, r.code, sharedHosts)
	}
}
