package labs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	"leolab/bridge"
	"leolab/internal/spec/mountspec"
	"leolab/node"
	"leolab/rootfs"
	"leolab/topology"
)

// The deploy engine and teardown reach the kernel and the image cache only
// through the three small interfaces below: network wiring (package bridge),
// node inits (package node) and the image store (package rootfs). The real
// implementations are thin adapters; a Manager whose seams are nil uses
// them. Tests put fakes there that record calls, so the engine's ordering
// and rollback are tested without root and without touching the host.
//
// Namespaces cross these interfaces as paths (/proc/PID/ns/net), not as
// open handles: each adapter call opens and closes what it needs.

// network wires bridges, ports, links, routes and NAT (package bridge).
type network interface {
	// OpenHost opens the namespace holding the lab's bridges: the host's
	// own with labNetns "", else the lab namespace of that name, created
	// when missing.
	OpenHost(labNetns string) (hostSide, error)
	DeleteLabNS(name string) error
	// SetupForward and SetupNAT add the lab's IPv4 rules, and with v6 the
	// IPv6 ones; TeardownChain removes the lab's chain (v6: the ip6tables one).
	SetupForward(lab, chain string, bridges []topology.Bridge, v6 bool) error
	SetupNAT(lab, chain string, bridges []topology.Bridge, v6 bool) error
	TeardownChain(chain string, v6 bool) error
	// Forwarding reads net.ipv4.ip_forward (v6: net.ipv6.conf.all.forwarding),
	// which SetupNAT turns on; RestoreForwarding puts a value read before back.
	Forwarding(v6 bool) (string, error)
	RestoreForwarding(v6 bool, value string) error
	PrepareIPv6(netns string) error
	AddLink(netnsA, netnsB string, l topology.Link, ia, ib topology.Interface) error
	SetupNode(netns string, n topology.Node) error
	RegisterNetns(name string, pid int) error
	UnregisterNetns(name string) error
}

// hostSide is the open namespace holding a lab's bridges.
type hostSide interface {
	AddBridge(b topology.Bridge) error
	AddVXLANPort(lab string, b topology.Bridge) error
	AddPort(netns string, b topology.Bridge, ifc topology.Interface) error
	AddVXLANEnd(netns string, l topology.Link, ifc topology.Interface) error
	// EndQuietStart ends the quiet start of a dual-stack bridge (bridge/mldquiet.go).
	EndQuietStart(b topology.Bridge) error
	DeleteBridge(device string) error
	SweepLinks(aliasPrefix string) error
	Close() error
}

// runner starts, talks to and stops node inits (package node).
type runner interface {
	Start(ctx context.Context, spec node.Spec) (proc, error)
	// Exec runs one shell line in the node behind socket.
	Exec(ctx context.Context, socket, line string) (code int, out []byte, err error)
	StartTimeOf(pid int) (uint64, error)
	Stop(pid int, startTime uint64, grace time.Duration) error
	// StopStrays stops every init of lab still running, found by its
	// command line (those a deploy killed before recording them).
	StopStrays(lab string) error
	RemoveCgroups(lab, node string) error
}

// proc is one started init, waiting to be released.
type proc interface {
	ID() (pid int, startTime uint64)
	NetnsPath() string
	Release(ctx context.Context) error
	Close() error
}

// imageStore prepares images and each node's private layer over one
// (package rootfs).
type imageStore interface {
	Prepare(ctx context.Context, source, baseDir string) (rootfs.Image, error)
	NodeMounts(img rootfs.Image, nodeDir string, copyRoot bool) ([]mountspec.Mount, error)
	LayOver(img rootfs.Image, nodeDir, src string) error
	RemoveNodeLayer(nodeDir string) error
}

func (m *Manager) network() network {
	if m.netw != nil {
		return m.netw
	}
	return bridgeNetwork{}
}

func (m *Manager) runner() runner {
	if m.nodes != nil {
		return m.nodes
	}
	return nodeRunner{}
}

func (m *Manager) imageStore() imageStore {
	if m.imgs != nil {
		return m.imgs
	}
	return rootfsImages{m.store()}
}

// gone drops an error that only says the thing to remove is not there:
// teardown counts "already gone" as success.
func gone(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// bridgeNetwork is network on package bridge.
type bridgeNetwork struct{}

func (bridgeNetwork) OpenHost(labNetns string) (hostSide, error) {
	var h *bridge.Host
	var err error
	if labNetns != "" {
		h, err = bridge.CreateLabNS(labNetns)
	} else {
		h, err = bridge.OpenHost()
	}
	if err != nil {
		return nil, err
	}
	return bridgeHost{h}, nil
}

func (bridgeNetwork) DeleteLabNS(name string) error { return bridge.DeleteLabNS(name) }

func (bridgeNetwork) SetupForward(lab, chain string, bridges []topology.Bridge, v6 bool) error {
	if v6 {
		return bridge.SetupForward6(lab, chain, bridges)
	}
	return bridge.SetupForward(lab, chain, bridges)
}

func (bridgeNetwork) SetupNAT(lab, chain string, bridges []topology.Bridge, v6 bool) error {
	if v6 {
		return bridge.SetupNAT6(lab, chain, bridges)
	}
	return bridge.SetupNAT(lab, chain, bridges)
}

func (bridgeNetwork) TeardownChain(chain string, v6 bool) error {
	if v6 {
		return bridge.TeardownChain6(chain)
	}
	return bridge.TeardownChain(chain)
}

func (bridgeNetwork) Forwarding(v6 bool) (string, error) {
	if v6 {
		return bridge.IP6Forward()
	}
	return bridge.IPForward()
}

func (bridgeNetwork) RestoreForwarding(v6 bool, value string) error {
	if v6 {
		return bridge.RestoreIP6Forward(value)
	}
	return bridge.RestoreIPForward(value)
}

func (bridgeNetwork) PrepareIPv6(netns string) error {
	ns := &bridge.NodeNS{Path: netns}
	defer ns.Close()
	return bridge.PrepareIPv6(ns)
}

func (bridgeNetwork) AddLink(netnsA, netnsB string, l topology.Link, ia, ib topology.Interface) error {
	a, b := &bridge.NodeNS{Path: netnsA}, &bridge.NodeNS{Path: netnsB}
	defer a.Close()
	defer b.Close()
	return bridge.AddLink(a, b, l, ia, ib)
}

func (bridgeNetwork) SetupNode(netns string, n topology.Node) error {
	ns := &bridge.NodeNS{Path: netns}
	defer ns.Close()
	return bridge.SetupNode(ns, n)
}

func (bridgeNetwork) RegisterNetns(name string, pid int) error {
	return bridge.RegisterNetns(name, pid)
}

func (bridgeNetwork) UnregisterNetns(name string) error { return bridge.UnregisterNetns(name) }

// bridgeHost is hostSide on a bridge.Host.
type bridgeHost struct{ h *bridge.Host }

func (b bridgeHost) AddBridge(br topology.Bridge) error { return b.h.AddBridge(br) }

func (b bridgeHost) AddVXLANPort(lab string, br topology.Bridge) error {
	return b.h.AddVXLANPort(lab, br)
}

func (b bridgeHost) AddPort(netns string, br topology.Bridge, ifc topology.Interface) error {
	ns := &bridge.NodeNS{Path: netns}
	defer ns.Close()
	return b.h.AddPort(ns, br, ifc)
}

func (b bridgeHost) AddVXLANEnd(netns string, l topology.Link, ifc topology.Interface) error {
	ns := &bridge.NodeNS{Path: netns}
	defer ns.Close()
	return b.h.AddVXLANEnd(ns, l, ifc)
}

func (b bridgeHost) EndQuietStart(br topology.Bridge) error { return b.h.EndQuietStart(br) }
func (b bridgeHost) DeleteBridge(device string) error       { return b.h.DeleteBridge(device) }
func (b bridgeHost) SweepLinks(aliasPrefix string) error    { return b.h.SweepLinks(aliasPrefix) }
func (b bridgeHost) Close() error                           { return b.h.Close() }

// nodeRunner is runner on package node.
type nodeRunner struct{}

func (nodeRunner) Start(ctx context.Context, spec node.Spec) (proc, error) {
	p, err := node.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return nodeProc{p}, nil
}

func (nodeRunner) Exec(ctx context.Context, socket, line string) (int, []byte, error) {
	return runLine(ctx, socket, line)
}

func (nodeRunner) StartTimeOf(pid int) (uint64, error) { return node.StartTimeOf(pid) }

func (nodeRunner) Stop(pid int, startTime uint64, grace time.Duration) error {
	return node.Stop(pid, startTime, grace)
}

func (nodeRunner) StopStrays(lab string) error { return stopInits(lab, "") }

func (nodeRunner) RemoveCgroups(lab, name string) error { return node.RemoveCgroups(lab, name) }

// nodeProc is proc on a node.Process.
type nodeProc struct{ *node.Process }

func (p nodeProc) ID() (int, uint64) { return p.Pid, p.StartTime }

// rootfsImages is imageStore on a rootfs.Store.
type rootfsImages struct{ s *rootfs.Store }

func (r rootfsImages) Prepare(ctx context.Context, source, baseDir string) (rootfs.Image, error) {
	return r.s.Prepare(ctx, source, baseDir)
}

func (r rootfsImages) NodeMounts(img rootfs.Image, nodeDir string, copyRoot bool) ([]mountspec.Mount, error) {
	return r.s.NodeMounts(img, nodeDir, copyRoot)
}

func (r rootfsImages) LayOver(img rootfs.Image, nodeDir, src string) error {
	return rootfs.LayOver(img, nodeDir, src)
}

func (r rootfsImages) RemoveNodeLayer(nodeDir string) error { return rootfs.RemoveNodeLayer(nodeDir) }

// netnsOfPid is a running node's network namespace as seen from the host.
func netnsOfPid(pid int) string { return fmt.Sprintf("/proc/%d/ns/net", pid) }
