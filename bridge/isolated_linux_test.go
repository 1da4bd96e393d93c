//go:build linux

package bridge

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"leolab/internal/hostnames"
	"leolab/internal/nstest"
	"leolab/topology"
)

// Two isolated labs with the same bridge name and subnet side by side, each
// in its own registered lab namespace; nothing appears in the host.
func TestIsolatedLabsSameSubnet(t *testing.T) {
	nstest.Enter(t, leak)
	lan := topology.Bridge{Name: "lan", Device: leak + "iso0", Alias: "leolab:" + leak + ":bridge:lan",
		Subnet: pfx("10.64.1.0/24"), Gateway: ip("10.64.1.1"), MTU: 1500}
	for _, name := range []string{leak + "-iso-a", leak + "-iso-b"} {
		h, err := CreateLabNS(name)
		must(t, err)
		t.Cleanup(func() { DeleteLabNS(name) })
		must(t, h.AddBridge(lan))
		n := newNode(t)
		must(t, h.AddPort(n.n, lan, port("eth0", "lan", leak+"p0", "10.64.1.2/24", "02:00:00:64:01:02", 1500)))
		must(t, SetupNode(n.n, topology.Node{Name: "n"}))
		mustPing(t, n.Handle, ip("10.64.1.1"))
		must(t, h.Close())

		again, err := CreateLabNS(name) // reuses the registered namespace
		must(t, err)
		if _, err := again.handle.LinkByName(lan.Device); err != nil {
			t.Errorf("second CreateLabNS(%s) did not reuse the namespace: %v", name, err)
		}
		must(t, again.Close())
	}
	host, err := OpenHost()
	must(t, err)
	defer host.Close()
	if _, err := host.handle.LinkByName(lan.Device); err == nil {
		t.Error("isolated lab bridge visible in the host namespace")
	}
	for _, name := range []string{leak + "-iso-a", leak + "-iso-b"} {
		must(t, DeleteLabNS(name))
		must(t, DeleteLabNS(name))
		if h, err := OpenLabNS(name); err == nil {
			h.Close()
			t.Errorf("OpenLabNS(%s) works after delete", name)
		}
	}
}

// RegisterNetns binds a process's netns to /run/netns/NAME and
// UnregisterNetns removes it, leaving /run/netns as it was.
func TestRegisterNetns(t *testing.T) {
	nstest.RequireRoot(t)
	nstest.CheckLeaks(t, leak)
	before := netnsEntries(t)

	cmd := exec.Command("/bin/busybox", "sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start busybox: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	name := leak + "-reg"
	must(t, RegisterNetns(name, cmd.Process.Pid))
	if err := RegisterNetns(name, cmd.Process.Pid); err == nil {
		t.Error("registering a name twice succeeded")
	}
	var a, b unix.Stat_t
	must(t, unix.Stat(hostnames.NetnsPath(name), &a))
	must(t, unix.Stat(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "ns/net"), &b))
	if a.Ino != b.Ino || a.Dev != b.Dev {
		t.Errorf("/run/netns/%s is not the process's netns", name)
	}
	must(t, UnregisterNetns(name))
	must(t, UnregisterNetns(name))
	after := netnsEntries(t)
	if len(after) != len(before) {
		t.Errorf("/run/netns entries with %q: before %v after %v", leak, before, after)
	}
}

func netnsEntries(t *testing.T) []string {
	ents, err := os.ReadDir(hostnames.NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if filepath.Base(e.Name())[:min(3, len(e.Name()))] == leak {
			out = append(out, e.Name())
		}
	}
	return out
}
