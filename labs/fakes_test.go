package labs

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"leolab/internal/spec/mountspec"
	"leolab/node"
	"leolab/rootfs"
	"leolab/topology"
)

// fakeWorld stands in for the kernel and the image cache behind the
// engine's seams (network, hostSide, runner, imageStore). It records every
// call in order, keeps the set of objects that exist, and can fail the Nth
// call that is not a removal. Removing something missing fails with a
// not-exist error, as a real kernel call would.
type fakeWorld struct {
	t  *testing.T
	mu sync.Mutex

	calls   []string            // every call, in order
	live    map[string]obj      // what exists now, by key
	created []string            // keys in order of creation
	removed []string            // keys in order of removal (only those that existed)
	deps    map[string][]string // what each created key needs to exist

	failAt  int    // fail this (1-based) non-removal call; 0: never
	count   int    // non-removal calls so far
	failed  string // the call that was failed
	onFirst func() // runs at the first non-removal call

	nextPid int
	pids    map[int]string // live node key by pid
	fwd     [2]string      // ip_forward and IPv6 forwarding
}

// obj is one thing that exists in the fake world.
type obj struct {
	lab   string
	kind  string // bridge, labns, forward, forward6, layer, node, cgroup, port, netns, link
	owner string // port, link: a node whose end takes it; bridge: its lab namespace
	other string // link: the other node whose end takes it
	deps  []string
}

func newFakeWorld(t *testing.T) *fakeWorld {
	return &fakeWorld{t: t, live: map[string]obj{}, deps: map[string][]string{}, nextPid: 1000, pids: map[int]string{}, fwd: [2]string{"0", "0"}}
}

// install makes m use w for everything the engine and teardown touch, and
// keeps host-wide files (claims, host lock) in a temporary directory.
func (w *fakeWorld) install(m *Manager) {
	m.netw, m.nodes, m.imgs = w, w, w
	old := hostRunDir
	hostRunDir = filepath.Join(w.t.TempDir(), "run")
	w.t.Cleanup(func() { hostRunDir = old })
}

// do records a call that may create something; it returns the injected
// failure when this is the failAt-th such call.
func (w *fakeWorld) do(call string) error {
	w.mu.Lock()
	first := w.count == 0
	w.count++
	w.calls = append(w.calls, call)
	fail := w.count == w.failAt
	if fail {
		w.failed = call
	}
	hook := w.onFirst
	w.mu.Unlock()
	if first && hook != nil {
		hook()
	}
	if fail {
		return fmt.Errorf("injected failure at %s", call)
	}
	return nil
}

func (w *fakeWorld) create(key string, o obj) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.live[key]; ok {
		return
	}
	w.live[key] = o
	w.created = append(w.created, key)
	w.deps[key] = o.deps
}

// remove records a removal call and removes key, with not-exist when it is
// not there.
func (w *fakeWorld) remove(call, key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, call)
	if _, ok := w.live[key]; !ok {
		return fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	w.drop(key)
	return nil
}

// drop removes key and what dies with it (first: it goes as key goes): a
// node's ports and links with its network namespace, a lab namespace's
// bridges with it. Callers hold mu.
func (w *fakeWorld) drop(key string) {
	var with []string
	for k, o := range w.live {
		if o.owner == key || o.other == key {
			with = append(with, k)
		}
	}
	sort.Strings(with)
	for _, k := range with {
		delete(w.live, k)
		w.removed = append(w.removed, k)
	}
	delete(w.live, key)
	w.removed = append(w.removed, key)
}

func (w *fakeWorld) nodeOfNetns(path string) string {
	pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(path, "/proc/"), "/ns/net"))
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil || w.pids[pid] == "" {
		w.t.Errorf("netns %q is no live node's", path)
	}
	return w.pids[pid]
}

// network

func (w *fakeWorld) OpenHost(labNetns string) (hostSide, error) {
	if err := w.do("open host " + labNetns); err != nil {
		return nil, err
	}
	if labNetns != "" {
		w.create("labns "+labNetns, obj{kind: "labns"})
	}
	return fakeHost{w, labNetns}, nil
}

func (w *fakeWorld) DeleteLabNS(name string) error {
	return w.remove("delete labns "+name, "labns "+name)
}

func (w *fakeWorld) SetupForward(lab, chain string, bridges []topology.Bridge, v6 bool) error {
	_, err := w.setupChain("forward", lab, chain, bridges, v6)
	return err
}

func (w *fakeWorld) SetupNAT(lab, chain string, bridges []topology.Bridge, v6 bool) error {
	made, err := w.setupChain("nat", lab, chain, bridges, v6)
	if !made || err != nil {
		return err
	}
	w.mu.Lock()
	w.fwd[b2i(v6)] = "1"
	w.mu.Unlock()
	return nil
}

// setupChain records the lab's kind ("forward" or "nat", with "6" for
// IPv6) rules in chain; like bridge's Setup*6, an IPv6 setup on a lab
// without IPv6 does nothing. made says whether the rules were created.
func (w *fakeWorld) setupChain(kind, lab, chain string, bridges []topology.Bridge, v6 bool) (made bool, err error) {
	if v6 {
		kind += "6"
		if !(&topology.Plan{Bridges: bridges}).HasIPv6() {
			return false, w.do(kind + " none")
		}
	}
	if err := w.do(kind + " " + chain); err != nil {
		return false, err
	}
	w.create(kind+" "+chain, obj{lab: lab, kind: kind})
	return true, nil
}

// TeardownChain removes the lab's chain: its forward and NAT rules.
func (w *fakeWorld) TeardownChain(chain string, v6 bool) error {
	suffix := ""
	if v6 {
		suffix = "6"
	}
	errF := w.remove("teardown forward"+suffix+" "+chain, "forward"+suffix+" "+chain)
	errN := w.remove("teardown nat"+suffix+" "+chain, "nat"+suffix+" "+chain)
	if errF != nil && errN != nil {
		return errF
	}
	return nil
}

func (w *fakeWorld) Forwarding(v6 bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fwd[b2i(v6)], nil
}

func (w *fakeWorld) RestoreForwarding(v6 bool, value string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, "restore forwarding")
	w.fwd[b2i(v6)] = value
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *fakeWorld) PrepareIPv6(netns string) error {
	return w.do("ipv6 " + w.nodeOfNetns(netns))
}

func (w *fakeWorld) AddLink(netnsA, netnsB string, l topology.Link, ia, ib topology.Interface) error {
	a, b := w.nodeOfNetns(netnsA), w.nodeOfNetns(netnsB)
	key := fmt.Sprintf("link %s~%s", l.Endpoints[0], l.Endpoints[1])
	if err := w.do("add " + key); err != nil {
		return err
	}
	w.create(key, obj{kind: "link", owner: a, other: b, deps: []string{a, b}})
	return nil
}

func (w *fakeWorld) SetupNode(netns string, n topology.Node) error {
	return w.do("setup " + w.nodeOfNetns(netns))
}

func (w *fakeWorld) RegisterNetns(name string, pid int) error {
	if err := w.do("register netns " + name); err != nil {
		return err
	}
	w.mu.Lock()
	n := w.pids[pid]
	w.mu.Unlock()
	w.create("netns "+name, obj{kind: "netns", deps: []string{n}})
	return nil
}

func (w *fakeWorld) UnregisterNetns(name string) error {
	return w.remove("unregister netns "+name, "netns "+name)
}

// fakeHost is the fake world seen through one open lab namespace.
type fakeHost struct {
	w      *fakeWorld
	labNet string
}

func (h fakeHost) AddBridge(b topology.Bridge) error {
	if err := h.w.do("add bridge " + b.Device); err != nil {
		return err
	}
	o := obj{kind: "bridge"}
	if h.labNet != "" {
		o.owner = "labns " + h.labNet
		o.deps = []string{o.owner}
	}
	h.w.create("bridge "+b.Device, o)
	return nil
}

func (h fakeHost) AddVXLANPort(lab string, b topology.Bridge) error {
	return h.w.do("vxlan port " + b.Device)
}

func (h fakeHost) AddPort(netns string, b topology.Bridge, ifc topology.Interface) error {
	n := h.w.nodeOfNetns(netns)
	key := fmt.Sprintf("port %s:%s", strings.TrimPrefix(n, "node "), ifc.Name)
	if err := h.w.do("add " + key); err != nil {
		return err
	}
	h.w.create(key, obj{kind: "port", owner: n, deps: []string{n, "bridge " + b.Device}})
	return nil
}

func (h fakeHost) AddVXLANEnd(netns string, l topology.Link, ifc topology.Interface) error {
	h.w.t.Errorf("AddVXLANEnd: the tests use no lab across hosts")
	return nil
}

func (h fakeHost) EndQuietStart(b topology.Bridge) error {
	return h.w.do("end quiet start " + b.Device)
}

func (h fakeHost) DeleteBridge(device string) error {
	return h.w.remove("delete bridge "+device, "bridge "+device)
}

func (h fakeHost) SweepLinks(aliasPrefix string) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.calls = append(h.w.calls, "sweep links "+aliasPrefix)
	return nil // host-side port ends went with their nodes
}

func (h fakeHost) Close() error { return nil }

// runner

func (w *fakeWorld) Start(ctx context.Context, spec node.Spec) (proc, error) {
	key := "node " + spec.Name
	if err := w.do("start " + spec.Name); err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.nextPid++
	pid := w.nextPid
	w.pids[pid] = key
	w.mu.Unlock()
	w.create("cgroup "+spec.Name, obj{lab: spec.Lab, kind: "cgroup"})
	w.create(key, obj{lab: spec.Lab, kind: "node", deps: []string{"cgroup " + spec.Name, "layer " + spec.Name}})
	return fakeProc{w, spec.Name, pid}, nil
}

func (w *fakeWorld) Exec(ctx context.Context, socket, line string) (int, []byte, error) {
	return 0, nil, w.do("exec " + line)
}

func (w *fakeWorld) StartTimeOf(pid int) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.pids[pid]; !ok {
		return 0, syscall.ESRCH
	}
	return uint64(pid), nil
}

func (w *fakeWorld) Stop(pid int, startTime uint64, grace time.Duration) error {
	w.mu.Lock()
	key := w.pids[pid]
	delete(w.pids, pid)
	w.mu.Unlock()
	if key == "" {
		w.mu.Lock()
		w.calls = append(w.calls, fmt.Sprintf("stop pid %d", pid))
		w.mu.Unlock()
		return fmt.Errorf("pid %d: %w", pid, syscall.ESRCH)
	}
	return w.remove("stop "+key, key)
}

func (w *fakeWorld) StopStrays(lab string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, "stop strays "+lab)
	for pid, key := range w.pids {
		if w.live[key].lab == lab {
			delete(w.pids, pid)
			w.drop(key)
		}
	}
	return nil
}

func (w *fakeWorld) RemoveCgroups(lab, name string) error {
	return w.remove("remove cgroup "+name, "cgroup "+name)
}

// fakeProc is one started fake init.
type fakeProc struct {
	w    *fakeWorld
	name string
	pid  int
}

func (p fakeProc) ID() (int, uint64) { return p.pid, uint64(p.pid) }
func (p fakeProc) NetnsPath() string { return netnsOfPid(p.pid) }
func (p fakeProc) Close() error      { return nil }
func (p fakeProc) Release(context.Context) error {
	return p.w.do("release " + p.name)
}

// imageStore

func (w *fakeWorld) Prepare(ctx context.Context, source, baseDir string) (rootfs.Image, error) {
	if err := w.do("prepare " + source); err != nil {
		return rootfs.Image{}, err
	}
	return rootfs.Image{Source: source, Kind: rootfs.KindBusybox, Digest: "d-" + source, Dir: w.t.TempDir()}, nil
}

func (w *fakeWorld) NodeMounts(img rootfs.Image, nodeDir string, copyRoot bool) ([]mountspec.Mount, error) {
	name := filepath.Base(nodeDir)
	if err := w.do("layer " + name); err != nil {
		return nil, err
	}
	w.create("layer "+name, obj{kind: "layer"})
	return nil, nil
}

func (w *fakeWorld) LayOver(img rootfs.Image, nodeDir, src string) error {
	return w.do("lay over " + filepath.Base(nodeDir))
}

func (w *fakeWorld) RemoveNodeLayer(nodeDir string) error {
	name := filepath.Base(nodeDir)
	return w.remove("remove layer "+name, "layer "+name)
}

// callIndex is the position of the first call starting with prefix, or -1;
// last is that of the last one.
func (w *fakeWorld) callIndex(prefix string, last bool) int {
	at := -1
	for i, c := range w.calls {
		if strings.HasPrefix(c, prefix) {
			at = i
			if !last {
				return i
			}
		}
	}
	return at
}
