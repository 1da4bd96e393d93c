//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// bgCapture is a `leolab capture` running in the background.
type bgCapture struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// startCapture runs leolab capture ARGS and returns once it reports that
// its sockets are bound.
func (e *env) startCapture(stdout io.Writer, args ...string) *bgCapture {
	e.t.Helper()
	c := &bgCapture{done: make(chan struct{})}
	c.cmd = exec.Command(binary, append([]string{"--root", e.root, "capture"}, args...)...)
	c.cmd.Stdout = stdout
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		signalled := false
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			if !signalled && strings.HasPrefix(sc.Text(), "capturing on ") {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
		close(c.done)
	}()
	if !<-ready {
		c.cmd.Wait()
		e.t.Fatalf("capture %v did not start: %s", args, c.stderr.String())
	}
	return c
}

// wait waits for the capture to exit and returns its status and stderr.
// A capture that never ends is killed (a hang must fail, not stall the suite).
func (c *bgCapture) wait() (int, string) {
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		c.cmd.Process.Kill()
		<-c.done
		c.stderr.WriteString("(killed: the capture did not end)\n")
	}
	c.cmd.Wait()
	return c.cmd.ProcessState.ExitCode(), c.stderr.String()
}

type capPacket struct {
	iface string
	ts    time.Time
	icmp  *layers.ICMPv4
}

// readPcapng parses a whole pcapng stream: interface names, packets and
// each interface's statistics.
func readPcapng(t *testing.T, data []byte) ([]string, []capPacket, []pcapgo.NgInterfaceStatistics) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("not a pcapng stream (%d bytes): %v", len(data), err)
	}
	var pkts []capPacket
	for {
		d, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("pcapng packet %d: %v", len(pkts), err)
		}
		intf, _ := r.Interface(ci.InterfaceIndex)
		p := capPacket{iface: intf.Name, ts: ci.Timestamp}
		pkt := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.Default)
		p.icmp, _ = pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		pkts = append(pkts, p)
	}
	var names []string
	var stats []pcapgo.NgInterfaceStatistics
	for i := range r.NInterfaces() {
		intf, _ := r.Interface(i)
		names = append(names, intf.Name)
		stats = append(stats, intf.Statistics)
	}
	return names, pkts, stats
}

// echoes counts ICMP echo requests and replies per interface.
func echoes(pkts []capPacket) map[string]int {
	n := map[string]int{}
	for _, p := range pkts {
		if p.icmp == nil {
			continue
		}
		switch p.icmp.TypeCode.Type() {
		case layers.ICMPv4TypeEchoRequest:
			n[p.iface+" request"]++
		case layers.ICMPv4TypeEchoReply:
			n[p.iface+" reply"]++
		}
	}
	return n
}

const captureTopo = `name: cap-e2e
bridges: {lan: {}}
nodes:
  a: {interfaces: {eth0: lan}}
  b: {interfaces: {eth0: lan}}
links:
  - endpoints: [a:eth1, b:eth1]
`

// TestCaptureCLI: two endpoints of a link to a file, stopped by SIGINT;
// -c; --bridge to a pipe with --duration; bad endpoints are usage errors.
func TestCaptureCLI(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("cap.yaml", captureTopo)
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "cap-e2e")
	dir := t.TempDir()

	file := filepath.Join(dir, "link.pcapng")
	c := e.startCapture(nil, "a:eth1", "b:eth1", "-w", file)
	e.must("exec", "a", "--", "ping", "-c", "3", "-i", "0.2", "b-eth1")
	c.cmd.Process.Signal(syscall.SIGINT)
	code, stderr := c.wait()
	if code != 0 {
		t.Fatalf("capture after SIGINT: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	names, pkts, stats := readPcapng(t, data)
	if strings.Join(names, ",") != "a:eth1,b:eth1" {
		t.Errorf("interface names %q, want a:eth1,b:eth1", names)
	}
	want := map[string]int{"a:eth1 request": 3, "a:eth1 reply": 3, "b:eth1 request": 3, "b:eth1 reply": 3}
	if got := echoes(pkts); !mapsEqual(got, want) {
		t.Errorf("ICMP echoes %v, want %v", got, want)
	}
	for i := 1; i < len(pkts); i++ {
		if pkts[i].ts.Before(pkts[i-1].ts) {
			t.Errorf("packet %d (%s) is older than packet %d", i, pkts[i].iface, i-1)
		}
	}
	if len(stats) != 2 || stats[0].PacketsDropped != 0 || stats[0].PacketsReceived == 0 {
		t.Errorf("statistics blocks %+v, want 2 with packets received and none dropped", stats)
	}
	if !strings.Contains(stderr, "a:eth1: ") || !strings.Contains(stderr, "dropped by the kernel") {
		t.Errorf("stderr does not report the counters: %s", stderr)
	}

	file = filepath.Join(dir, "count.pcapng")
	c = e.startCapture(nil, "a:eth1", "-c", "2", "-w", file)
	e.must("exec", "a", "--", "ping", "-c", "3", "-i", "0.2", "b-eth1")
	if code, stderr := c.wait(); code != 0 {
		t.Fatalf("capture -c 2: exit %d: %s", code, stderr)
	}
	data, _ = os.ReadFile(file)
	if _, pkts, _ := readPcapng(t, data); len(pkts) != 2 {
		t.Errorf("-c 2 wrote %d packets", len(pkts))
	}

	// The bridge forwards a's pings to b between two ports: captured on
	// the bridge device, to a pipe.
	var pipe bytes.Buffer
	c = e.startCapture(&pipe, "--bridge", "lan")
	e.must("exec", "a", "--", "ping", "-c", "2", "-i", "0.2", "b-eth0")
	c.cmd.Process.Signal(syscall.SIGINT)
	if code, stderr := c.wait(); code != 0 {
		t.Fatalf("capture --bridge lan: exit %d: %s", code, stderr)
	}
	names, pkts, _ = readPcapng(t, pipe.Bytes())
	want = map[string]int{"bridge:lan request": 2, "bridge:lan reply": 2}
	if strings.Join(names, ",") != "bridge:lan" || !mapsEqual(echoes(pkts), want) {
		t.Errorf("--bridge lan to stdout: interfaces %q, echoes %v; want bridge:lan, %v", names, echoes(pkts), want)
	}

	file = filepath.Join(dir, "idle.pcapng")
	if r := e.run("capture", "b:eth1", "--duration", "500ms", "-w", file); r.code != 0 {
		t.Fatalf("capture --duration: exit %d: %s", r.code, r.stderr)
	}
	data, _ = os.ReadFile(file)
	if names, _, _ := readPcapng(t, data); strings.Join(names, ",") != "b:eth1" {
		t.Errorf("--duration: interfaces %q", names)
	}

	for _, bad := range []struct{ args, msg string }{
		{"a:eth9", "no interface eth9"},
		{"zz:eth0", "no node zz"},
		{"a", "want NODE:IFACE"},
		{"--bridge nope", "no bridge nope"},
		{"a:eth1 -c -1", "-c -1"},
	} {
		args := append([]string{"capture"}, strings.Fields(bad.args)...)
		r := e.run(append(args, "-w", filepath.Join(dir, "bad.pcapng"))...)
		if r.code != 2 || !strings.Contains(r.stderr, bad.msg) {
			t.Errorf("capture %s: exit %d, stderr %q; want 2 and %q", bad.args, r.code, r.stderr, bad.msg)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCaptureRefusesTerminal: without -w, a terminal stdout is refused
// with a hint, before anything is captured.
func TestCaptureRefusesTerminal(t *testing.T) {
	e := newEnv(t)
	_, slave := openPty(t)
	cmd := exec.Command(binary, "--root", e.root, "capture", "a:eth1")
	cmd.Stdout = slave
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	slave.Close()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(errb.String(), "-w FILE") {
		t.Errorf("capture to a terminal: %v, stderr %q; want exit 2 and a hint about -w FILE", err, errb.String())
	}
}

// TestCaptureNodeGoesAway: destroying the lab mid-capture ends every
// endpoint with a message; the capture exits 0 with a valid file.
func TestCaptureNodeGoesAway(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("gone.yaml", strings.Replace(captureTopo, "cap-e2e", "cap-gone", 1))
	e.must("deploy", topo)
	file := filepath.Join(t.TempDir(), "gone.pcapng")
	c := e.startCapture(nil, "a:eth1", "b:eth0", "-w", file)
	e.must("exec", "a", "--", "ping", "-c", "2", "-i", "0.2", "b-eth1")
	e.must("destroy", "--lab", "cap-gone")
	code, stderr := c.wait()
	if code != 0 {
		t.Fatalf("capture: exit %d: %s", code, stderr)
	}
	for _, ep := range []string{"a:eth1", "b:eth0"} {
		if !strings.Contains(stderr, ep+": capture ended: ") {
			t.Errorf("no message for %s: %s", ep, stderr)
		}
	}
	data, _ := os.ReadFile(file)
	_, pkts, _ := readPcapng(t, data)
	if got := echoes(pkts); got["a:eth1 request"] != 2 || got["a:eth1 reply"] != 2 {
		t.Errorf("echoes before the lab went away: %v", got)
	}
}

// TestCaptureSurvivesLinkDown: `link down` and `link up` on a captured
// interface do not end the capture; packets after the link is back are
// recorded.
func TestCaptureSurvivesLinkDown(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("down.yaml", strings.Replace(captureTopo, "cap-e2e", "cap-down", 1))
	e.must("deploy", topo)
	defer e.must("destroy", "--lab", "cap-down")
	file := filepath.Join(t.TempDir(), "down.pcapng")
	c := e.startCapture(nil, "a:eth1", "-w", file)
	e.must("link", "down", "a:eth1")
	e.must("link", "up", "a:eth1")
	waitFor(t, "a:eth1 back up", 10e9, func() bool {
		return e.run("exec", "a", "--", "ping", "-c", "1", "-W", "1", "b-eth1").code == 0
	})
	c.cmd.Process.Signal(syscall.SIGINT)
	code, stderr := c.wait()
	if code != 0 || strings.Contains(stderr, "capture ended") {
		t.Fatalf("capture: exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(file)
	_, pkts, _ := readPcapng(t, data)
	if got := echoes(pkts); got["a:eth1 reply"] == 0 {
		t.Errorf("no echo reply recorded after the link came back: %v", got)
	}
}
