package labs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"leolab/bridge"
	"leolab/internal/hostnames"
	"leolab/internal/spec/mountspec"
	"leolab/internal/spec/nodespec"
	"leolab/node"
	"leolab/rootfs"
	"leolab/topology"
)

// deployment is one run of the engine: the state being filled, the seams
// it works through and the live handles its steps share.
type deployment struct {
	m        *Manager
	st       *State
	opts     DeployOptions
	net      network
	nodes    runner
	imgs     imageStore
	host     hostSide
	images   map[string]rootfs.Image // by rootfs source
	procs    map[string]proc         // by node name: the nodes this run started
	hosts    string                  // file holding /etc/hosts for every node
	workers  int
	byName   map[string]*topology.Node // plan nodes by name, for links
	progress *progressView
	mu       sync.Mutex // guards st.Nodes and procs
}

// part is the share of a lab's plan one run of the engine creates: the
// whole plan for a deploy; for a change to a running lab, the bridges,
// nodes and links being added. Everything else a step needs (a bridge a
// new node plugs into, the far end of a new link) is looked up in the plan
// and, for nodes started earlier, in the state's pids.
type part struct {
	bridges []topology.Bridge
	nodes   []*topology.Node
	links   []topology.Link
}

// wholePlan is the part covering all of p.
func wholePlan(p *topology.Plan) part {
	pt := part{bridges: p.Bridges, links: p.Links}
	for i := range p.Nodes {
		pt.nodes = append(pt.nodes, &p.Nodes[i])
	}
	return pt
}

// runDeployment creates every resource of the lab (see run) and marks it
// running.
func (m *Manager) runDeployment(ctx context.Context, st *State, opts DeployOptions) error {
	d := m.newDeployment(st, opts)
	defer d.close()
	if err := d.run(ctx, wholePlan(st.Plan)); err != nil {
		return err
	}
	st.Phase = PhaseRunning
	return writeState(m.statePath(st.Plan.Name), st)
}

// newDeployment prepares a run of the engine over st, whose plan is the
// lab's whole plan (with whatever a change adds already in it).
func (m *Manager) newDeployment(st *State, opts DeployOptions) *deployment {
	d := &deployment{
		m: m, st: st, opts: opts,
		net: m.network(), nodes: m.runner(), imgs: m.imageStore(),
		images:  map[string]rootfs.Image{},
		procs:   map[string]proc{},
		hosts:   hostnames.HostsPath(m.Root, st.Plan.Name),
		workers: opts.MaxWorkers,
		byName:  make(map[string]*topology.Node, len(st.Plan.Nodes)),
	}
	for i := range st.Plan.Nodes {
		d.byName[st.Plan.Nodes[i].Name] = &st.Plan.Nodes[i]
	}
	if d.workers <= 0 {
		d.workers = DefaultWorkers()
	}
	return d
}

// run creates what pt names, in dependency order, each stage in parallel
// where the kernel allows: the state on disk first (so a crash from here on
// leaves a state destroy can finish), images, then the host side (lab
// namespace, bridges, forwarding and NAT rules), then nodes with their
// bridge ports, then point-to-point links (both nodes exist), then per-node
// routes, release (sysctls, hardening, cmd) and exec lines. On failure it
// returns at once; the caller removes what was created (teardown).
func (d *deployment) run(ctx context.Context, pt part) error {
	d.progress = d.m.newProgress(d.st.Plan.Name, len(pt.nodes))
	defer d.progress.done()
	steps := []struct {
		name string
		fn   func(context.Context, part) error
	}{
		{"record plan", d.record},
		{"prepare images", d.prepareImages},
		{"write hosts", d.writeHosts},
		{"create bridges", d.createHostSide},
		{"start nodes", d.startNodes},
		{"record state", d.record},
		{"register netns", d.registerNetns},
		{"create links", d.createLinks},
		{"end quiet start", d.endQuietStart},
		{"configure nodes", d.configureNodes},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("deploy %s interrupted before %s: %w", d.st.Plan.Name, s.name, err)
		}
		faultHook(s.name)
		slog.Debug("deploy step", "lab", d.st.Plan.Name, "step", s.name)
		if err := s.fn(ctx, pt); err != nil {
			return err
		}
	}
	return nil
}

// close releases the handles of the run; it removes nothing.
func (d *deployment) close() {
	for _, p := range d.procs {
		p.Close()
	}
	if d.host != nil {
		d.host.Close()
	}
}

func (d *deployment) record(context.Context, part) error {
	return writeState(d.m.statePath(d.st.Plan.Name), d.st)
}

// writeHosts writes the lab's /etc/hosts (every node of the plan); every
// init copies it.
func (d *deployment) writeHosts(context.Context, part) error {
	if err := os.WriteFile(d.hosts, []byte(hostsFile(d.st.Plan, d.st.Plan.Remote)), 0o644); err != nil {
		return fmt.Errorf("write hosts file: %w", err)
	}
	return nil
}

// prepareImages makes the images of pt's nodes ready in the cache.
func (d *deployment) prepareImages(ctx context.Context, pt part) error {
	var sources []string
	seen := map[string]bool{}
	for _, n := range pt.nodes {
		if !seen[n.Rootfs] {
			seen[n.Rootfs] = true
			sources = append(sources, n.Rootfs)
		}
	}
	var mu sync.Mutex
	err := forEach(ctx, d.workers, len(sources), func(i int) error {
		img, err := d.imgs.Prepare(ctx, sources[i], baseDir(d.st.Plan))
		if err != nil {
			return err // names the rootfs
		}
		mu.Lock()
		d.images[sources[i]] = img
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	if d.st.Images == nil {
		d.st.Images = map[string]string{}
	}
	for src, img := range d.images {
		d.st.Images[src] = img.Digest
	}
	return d.checkRouterImages()
}

// createHostSide opens the namespace holding the lab's bridges (the host's,
// or a private one for isolated labs, created here), adds pt's bridges,
// and the iptables chains for them.
func (d *deployment) createHostSide(_ context.Context, pt part) error {
	if d.host == nil {
		h, err := d.net.OpenHost(d.st.Plan.LabNetns)
		if err != nil {
			return fmt.Errorf("open lab network namespace: %w", err)
		}
		d.host = h
	}
	for _, b := range pt.bridges {
		if err := d.host.AddBridge(b); err != nil {
			return fmt.Errorf("bridge %s: %w", b.Name, err)
		}
		if err := d.host.AddVXLANPort(d.st.Plan.Name, b); err != nil {
			return fmt.Errorf("bridge %s: %w", b.Name, err)
		}
	}
	if d.st.Plan.LabNetns != "" || len(pt.bridges) == 0 {
		return nil
	}
	return d.setupIptables(pt.bridges)
}

// setupIptables adds the forwarding rules of bridges and NAT for those
// with nat: true.
func (d *deployment) setupIptables(bridges []topology.Bridge) error {
	return d.m.setupIptables(d.st, d.net, bridges)
}

// setupIptables writes the forward and NAT chains of st's lab for bridges;
// the chains are rewritten whole, so apply calls it again with all of them.
func (m *Manager) setupIptables(st *State, net network, bridges []topology.Bridge) error {
	p := st.Plan
	if err := net.SetupForward(p.Name, p.Chain, bridges, false); err != nil {
		return fmt.Errorf("forward rules: %w", err)
	}
	if err := net.SetupForward(p.Name, p.Chain, bridges, true); err != nil {
		return fmt.Errorf("ipv6 forward rules: %w", err)
	}
	natBridges := bridge.NATBridges(bridges)
	nat6 := len(bridge.NAT6Bridges(natBridges)) > 0
	if len(natBridges) == 0 {
		return nil
	}
	// Intent first: the value to restore is on disk before SetupNAT turns
	// forwarding on, so a deploy killed in between still restores it.
	lock, err := m.lockClaimsAndForwarding()
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	if err := m.saveForward(); err != nil {
		return fmt.Errorf("nat: %w", err)
	}
	if nat6 {
		if err := m.saveForward6(); err != nil {
			return fmt.Errorf("nat66: %w", err)
		}
	}
	st.NAT, st.NAT6 = true, st.NAT6 || nat6
	if err := writeState(m.statePath(p.Name), st); err != nil {
		return err
	}
	if err := net.SetupNAT(p.Name, p.Chain, natBridges, false); err != nil {
		return fmt.Errorf("nat: %w", err)
	}
	if err := net.SetupNAT(p.Name, p.Chain, natBridges, true); err != nil {
		return fmt.Errorf("nat66: %w", err)
	}
	return nil
}

// startNodes spawns the init of each of pt's nodes (filesystem built,
// waiting) and plugs its bridge ports in.
func (d *deployment) startNodes(ctx context.Context, pt part) error {
	ordinals := userNSOrdinals(d.st.Plan)
	return forEach(ctx, d.workers, len(pt.nodes), func(i int) error {
		n := pt.nodes[i]
		if err := d.startNode(ctx, n, ordinals[n.Name]); err != nil {
			return err // names the node
		}
		d.progress.nodeStarted(n.Name)
		return nil
	})
}

// userNSOrdinals numbers the plan's user-namespace nodes in file order, by
// name: each gets its own host id range.
func userNSOrdinals(p *topology.Plan) map[string]int {
	out := map[string]int{}
	for _, n := range p.Nodes {
		if n.UserNamespace {
			out[n.Name] = len(out)
		}
	}
	return out
}

func (d *deployment) startNode(ctx context.Context, n *topology.Node, ordinal int) error {
	lab := d.st.Plan.Name
	dir := d.m.nodeDir(lab, n.Name)
	root := filepath.Join(dir, "merged")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("node %s: create node dir: %w", n.Name, err)
	}
	socket := d.m.socketPath(lab, n.Index)
	if err := os.MkdirAll(filepath.Dir(socket), 0o700); err != nil {
		return fmt.Errorf("node %s: create socket dir: %w", n.Name, err)
	}
	if err := os.Symlink(socket, d.m.controlLink(lab, n.Name)); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("node %s: link control socket: %w", n.Name, err)
	}
	img := d.images[n.Rootfs]
	// An overlay cannot be idmapped into a node's user namespace, but a bind
	// of a private copy can: user-namespace nodes get a copy.
	copyRoot := n.RootfsCopy || n.UserNamespace
	mounts, err := d.nodeLayer(img, n, dir, copyRoot)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	router := routerOf(n)
	if n.HasIPv6() {
		router.sysctls = withDefaults(router.sysctls, ipv6ReleaseSysctls(n))
	}
	spec := node.Spec{
		Lab: lab, Name: n.Name, Hostname: n.Name,
		StateDir: dir, Root: root, RootMounts: mounts,
		Socket: socket, HostsFile: d.hosts,
		Binds: n.Binds, Env: n.Env, Cmd: router.cmd, Sysctls: router.sysctls,
		Privileged: n.Privileged, UserNamespace: n.UserNamespace, Limits: n.Limits,
		Caps: router.caps, Files: router.files,
	}
	if n.UserNamespace {
		spec.UIDBase = d.st.nodeUIDBase(ordinal)
	}
	p, err := d.nodes.Start(ctx, spec)
	if errors.Is(err, node.ErrRootMount) && !copyRoot {
		// The kernel refused the overlay for this image: a full copy
		// always mounts (SPEC §2).
		if spec.RootMounts, err = d.nodeLayer(img, n, dir, true); err != nil {
			return fmt.Errorf("node %s: rootfs copy after a failed overlay: %w", n.Name, err)
		}
		p, err = d.nodes.Start(ctx, spec)
	}
	if err != nil {
		return err // node.Start names the node
	}
	pid, start := p.ID()
	d.mu.Lock()
	d.procs[n.Name] = p
	d.st.Nodes[n.Name] = &NodeState{Pid: pid, StartTime: start}
	d.mu.Unlock()
	return d.plugPorts(n, p.NetnsPath())
}

// plugPorts connects the started node n to its bridges.
func (d *deployment) plugPorts(n *topology.Node, netns string) error {
	if n.HasIPv6() {
		// Before any interface exists: each inherits these settings.
		if err := d.net.PrepareIPv6(netns); err != nil {
			return fmt.Errorf("node %s: ipv6 settings: %w", n.Name, err)
		}
	}
	for _, ifc := range n.Interfaces {
		if ifc.Bridge == "" {
			continue
		}
		if err := d.host.AddPort(netns, d.bridgeNamed(ifc.Bridge), ifc); err != nil {
			return fmt.Errorf("node %s: interface %s: %w", n.Name, ifc.Name, err)
		}
	}
	return nil
}

// ipv6ReleaseSysctls puts back, at a dual-stack node's release, the
// kernel's MLD defaults that bridge.PrepareIPv6 changed for the deploy
// only (bridge/mldquiet.go): MLDv2, and unsolicited MLDv1 reports repeated
// within 10 s, on each interface and for interfaces made later. A node's
// own sysctls win.
func ipv6ReleaseSysctls(n *topology.Node) []nodespec.Sysctl {
	const repeat = "mldv1_unsolicited_report_interval"
	out := []nodespec.Sysctl{
		{Key: "net.ipv6.conf.all.force_mld_version", Value: "0"},
		{Key: "net.ipv6.conf.default." + repeat, Value: "10000"},
	}
	for _, ifc := range n.Interfaces {
		if !strings.Contains(ifc.Name, ".") { // a dot would split the key
			out = append(out, nodespec.Sysctl{Key: "net.ipv6.conf." + ifc.Name + "." + repeat, Value: "10000"})
		}
	}
	return out
}

// endQuietStart lets each dual-stack bridge flood IPv6 multicast again now
// that all its ports exist, before any node's command runs (see
// bridge.EndQuietStart).
// A run that adds ports to a running lab's bridges quiets and ends them
// the same way, so every bridge of the plan is asked.
func (d *deployment) endQuietStart(context.Context, part) error {
	if d.host == nil {
		return nil
	}
	for _, b := range d.st.Plan.Bridges {
		if err := d.host.EndQuietStart(b); err != nil {
			return err
		}
	}
	return nil
}

// registerNetns makes the netns of each of pt's nodes visible to `ip netns`
// as LAB-NODE. It runs once all inits exist: each registration is a mount
// in the host's mount namespace, which every later init's CLONE_NEWNS would
// copy (and detach again), quadratic work over a lab.
func (d *deployment) registerNetns(ctx context.Context, pt part) error {
	return forEach(ctx, d.workers, len(pt.nodes), func(i int) error {
		n := pt.nodes[i]
		pid, _ := d.procs[n.Name].ID()
		if err := d.net.RegisterNetns(hostnames.NodeNetns(d.st.Plan.Name, n.Name), pid); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		return nil
	})
}

func (d *deployment) bridgeNamed(name string) topology.Bridge {
	for _, b := range d.st.Plan.Bridges {
		if b.Name == name {
			return b
		}
	}
	return topology.Bridge{Name: name}
}

// nodeNetns is the network namespace of the plan's node name: started by
// this run, or running since an earlier one; "" for a node of another host.
func (d *deployment) nodeNetns(name string) string {
	if _, ok := d.byName[name]; !ok {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.procs[name]; p != nil {
		return p.NetnsPath()
	}
	if ns := d.st.Nodes[name]; ns != nil && ns.Pid > 0 {
		return netnsOfPid(ns.Pid)
	}
	return ""
}

// createLinks creates pt's links; both ends' nodes are running.
func (d *deployment) createLinks(ctx context.Context, pt part) error {
	return forEach(ctx, d.workers, len(pt.links), func(i int) error {
		l := pt.links[i]
		if l.VXLAN != nil {
			return d.createVXLANEnd(l)
		}
		ia, ib := d.interfaceOf(l.Endpoints[0]), d.interfaceOf(l.Endpoints[1])
		a, b := d.nodeNetns(l.Endpoints[0].Node), d.nodeNetns(l.Endpoints[1].Node)
		if err := d.net.AddLink(a, b, l, ia, ib); err != nil {
			return fmt.Errorf("link %s <-> %s: %w", l.Endpoints[0], l.Endpoints[1], err)
		}
		return nil
	})
}

// createVXLANEnd creates this host's end of a cross-host link.
func (d *deployment) createVXLANEnd(l topology.Link) error {
	end := l.Endpoints[0]
	if _, local := d.byName[end.Node]; !local {
		end = l.Endpoints[1]
	}
	if err := d.host.AddVXLANEnd(d.nodeNetns(end.Node), l, d.interfaceOf(end)); err != nil {
		return fmt.Errorf("link %s <-> %s: %w", l.Endpoints[0], l.Endpoints[1], err)
	}
	return nil
}

func (d *deployment) interfaceOf(e topology.Endpoint) topology.Interface {
	if n, ok := d.byName[e.Node]; ok {
		for _, ifc := range n.Interfaces {
			if ifc.Name == e.Iface {
				return ifc
			}
		}
	}
	return topology.Interface{Name: e.Iface}
}

// nodeLayer makes the node's private layer over its image (a full copy
// with copyRoot) and lays the node's overlay tree into it.
func (d *deployment) nodeLayer(img rootfs.Image, n *topology.Node, dir string, copyRoot bool) ([]mountspec.Mount, error) {
	mounts, err := d.imgs.NodeMounts(img, dir, copyRoot)
	if err != nil {
		return nil, fmt.Errorf("rootfs layer: %w", err)
	}
	if n.Overlay != "" {
		if err := d.imgs.LayOver(img, dir, n.Overlay); err != nil {
			return nil, err
		}
	}
	return mounts, nil
}

// configureNodes adds the routes of pt's nodes (all interfaces exist now),
// releases each init (sysctls, hardening, cmd) and runs the node's exec
// lines in order. Each node was started by this run.
//
// A node's exec lines wait for those of the nodes it runs After; nodes are
// taken in an order where every such node comes first, so a worker only
// ever waits for one that another worker already has (no deadlock). A node
// it runs After that this run did not start is running already.
func (d *deployment) configureNodes(ctx context.Context, pt part) error {
	nodes := pt.nodes
	order := afterOrder(nodes)
	done := make(map[string]chan struct{}, len(nodes))
	for _, n := range nodes {
		done[n.Name] = make(chan struct{})
	}
	// failed ends the waits for nodes whose exec lines will never finish.
	failed, fail := context.WithCancel(ctx)
	defer fail()
	return forEach(ctx, d.workers, len(nodes), func(k int) error {
		n := nodes[order[k]]
		if err := d.configureNode(ctx, n); err != nil {
			fail()
			return err
		}
		for _, dep := range n.After {
			wait, ok := done[dep]
			if !ok {
				continue // not in this run: configured earlier
			}
			select {
			case <-wait:
			case <-failed.Done():
				return nil // the failure (or the interruption) is reported already
			}
		}
		for _, line := range n.Exec {
			if err := d.runExec(ctx, n, line); err != nil {
				fail()
				return fmt.Errorf("node %s: exec %q: %w", n.Name, line, err)
			}
		}
		close(done[n.Name])
		d.progress.nodeReady(n.Name)
		return nil
	})
}

// configureNode adds the node's routes and releases its init.
func (d *deployment) configureNode(ctx context.Context, n *topology.Node) error {
	p := d.procs[n.Name]
	if err := d.net.SetupNode(p.NetnsPath(), *n); err != nil {
		return err // SetupNode names the node
	}
	if err := p.Release(ctx); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	return nil
}

// afterOrder lists node indexes so that every node comes after the nodes
// it runs After (the plan has no loops; file order otherwise).
func afterOrder(nodes []*topology.Node) []int {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.Name] = i
	}
	seen := make([]bool, len(nodes))
	order := make([]int, 0, len(nodes))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, dep := range nodes[i].After {
			if j, ok := index[dep]; ok {
				visit(j)
			}
		}
		order = append(order, i)
	}
	for i := range nodes {
		visit(i)
	}
	return order
}

func (d *deployment) runExec(ctx context.Context, n *topology.Node, line string) error {
	code, o, err := d.nodes.Exec(ctx, d.m.socketPath(d.st.Plan.Name, n.Index), line)
	if err != nil {
		return err
	}
	if code != 0 {
		if len(o) > 0 {
			return fmt.Errorf("exit status %d: %s", code, o)
		}
		return fmt.Errorf("exit status %d", code)
	}
	return nil
}

// store is the image cache; pulls and unpacks report progress only on a
// terminal (nothing in a pipe or with -q).
func (m *Manager) store() *rootfs.Store {
	s := &rootfs.Store{Root: m.Root, MaxBytes: m.MaxImageBytes, MaxEntries: m.MaxImageEntries}
	if m.Live && !m.Quiet {
		s.Progress = m.Progress
	}
	return s
}

// hostsFile is every node's /etc/hosts: NAME → its first address and
// NAME-IFACE → each interface address (SPEC §3), IPv4 and, in a dual-stack
// lab, IPv6 (NAME → its first IPv6 address too).
func hostsFile(p *topology.Plan, remote []topology.Node) string {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, n := range append(slices.Clone(p.Nodes), remote...) {
		if a := n.FirstAddr(); a.IsValid() {
			fmt.Fprintf(&b, "%s\t%s\n", a, n.Name)
		}
		if a := n.FirstAddr6(); a.IsValid() {
			fmt.Fprintf(&b, "%s\t%s\n", a, n.Name)
		}
		for _, ifc := range n.Interfaces {
			if ifc.IPv4.IsValid() {
				fmt.Fprintf(&b, "%s\t%s-%s\n", ifc.IPv4.Addr(), n.Name, ifc.Name)
			}
			if ifc.IPv6.IsValid() {
				fmt.Fprintf(&b, "%s\t%s-%s\n", ifc.IPv6.Addr(), n.Name, ifc.Name)
			}
		}
	}
	return b.String()
}
