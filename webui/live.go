package webui

import (
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"leolab/bridge"
	"leolab/internal/hostnames"
	"leolab/labs"
	"leolab/labs/view"
	"leolab/render"
)

// hub reads the labs once per interval while at least one page listens,
// and hands every listener the newest message (a slow page skips updates,
// it never holds the others up).
type hub struct {
	m        *labs.Manager
	only     string
	interval time.Duration

	tickMu sync.Mutex // one tick at a time, even while a stopped run ends
	mu     sync.Mutex
	subs   map[chan []byte]bool
	topo   []byte // last topology message, sent to every new listener first
	quit   chan struct{}
	snaps  map[string]*labs.Snapshot
	keys   map[string]ifaceKeys           // each lab's NODE:IFACE names, made once per snapshot
	prev   map[string]map[string]counters // by lab, by NODE:IFACE
	prevT  time.Time
	last   map[string]labStats // the live state the pages have
	host   *hostLinks          // the host's links, followed while pages listen
}

func newHub(m *labs.Manager, only string, interval time.Duration) *hub {
	return &hub{m: m, only: only, interval: interval, subs: map[chan []byte]bool{},
		snaps: map[string]*labs.Snapshot{}, keys: map[string]ifaceKeys{}, prev: map[string]map[string]counters{},
		host: newHostLinks()}
}

// subscribe returns a channel of messages (the current topology first)
// and the function that ends the subscription.
func (h *hub) subscribe() (chan []byte, func()) {
	ch := make(chan []byte, 2)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[ch] = true
	if h.topo != nil {
		ch <- h.topo
		ch <- mustJSON(statsMsg{Type: "stats", Full: true, Time: time.Now().UnixMilli(), Labs: h.last})
	}
	if len(h.subs) == 1 {
		h.quit = make(chan struct{})
		go h.run(h.quit)
	}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, ch)
		if len(h.subs) == 0 {
			close(h.quit)
		}
	}
}

func (h *hub) run(quit chan struct{}) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.tick()
		select {
		case <-quit:
			h.reset()
			return
		case <-t.C:
		}
	}
}

// reset forgets every lab once no page listens (their pidfds closed).
func (h *hub) reset() {
	h.tickMu.Lock()
	defer h.tickMu.Unlock()
	for n, snap := range h.snaps {
		snap.Close()
		delete(h.snaps, n)
		delete(h.keys, n)
	}
	h.host.close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		h.topo = nil
	}
}

// tick sends the topology when it changed, with the whole live state,
// and otherwise only what changed since the last tick (at least an empty
// message every interval): an idle lab of 1000 nodes costs next to nothing.
func (h *hub) tick() {
	h.tickMu.Lock()
	defer h.tickMu.Unlock()
	// The topology goes out before the live state is read: the pages
	// start drawing meanwhile.
	whole := false
	if h.refresh() || h.topoNil() {
		topo := mustJSON(h.topologyMsg())
		h.mu.Lock()
		h.topo = topo
		h.broadcast(topo, true)
		h.mu.Unlock()
		whole = true
	}
	stats := h.collect()
	h.mu.Lock()
	defer h.mu.Unlock()
	delta, gone := diffStats(h.last, stats.Labs)
	h.last = stats.Labs
	whole = whole || gone
	if !whole {
		stats.Labs = delta
	}
	stats.Full = whole
	h.broadcast(mustJSON(stats), false)
}

func (h *hub) topoNil() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.topo == nil
}

// diffStats is what changed from old to now; whole when something went
// away (a delta only adds and replaces).
func diffStats(old, now map[string]labStats) (delta map[string]labStats, whole bool) {
	delta = map[string]labStats{}
	for lab := range old {
		if _, ok := now[lab]; !ok {
			return nil, true
		}
	}
	for lab, n := range now {
		o := old[lab]
		d := labStats{Nodes: map[string]string{}, Ifaces: map[string]ifaceStats{}}
		for k, v := range n.Nodes {
			if ov, ok := o.Nodes[k]; !ok || ov != v {
				d.Nodes[k] = v
			}
		}
		for k, v := range n.Ifaces {
			if ov, ok := o.Ifaces[k]; !ok || ov != v {
				d.Ifaces[k] = v
			}
		}
		for k := range o.Ifaces {
			if _, ok := n.Ifaces[k]; !ok {
				return nil, true
			}
		}
		if len(d.Nodes)+len(d.Ifaces) > 0 {
			delta[lab] = d
		}
	}
	return delta, false
}

// broadcast gives msg to every listener; a full channel loses its oldest
// stats message, never a topology one.
func (h *hub) broadcast(msg []byte, topo bool) {
	for ch := range h.subs {
		select {
		case ch <- msg:
			continue
		default:
		}
		if topo {
			// Make room: drop what is queued, the page gets the topology now.
			for len(ch) > 0 {
				<-ch
			}
		} else {
			continue
		}
		ch <- msg
	}
}

// refresh reads the state of each lab whose state file changed, and tells
// whether the set of labs or any of them changed.
func (h *hub) refresh() bool {
	names := []string{h.only}
	if h.only == "" {
		names, _ = h.m.LabNames()
	}
	changed := false
	seen := map[string]bool{}
	for _, n := range names {
		stamp, err := h.m.StateStamp(n)
		if err != nil {
			continue
		}
		seen[n] = true
		if old := h.snaps[n]; old != nil && old.Stamp.Equal(stamp) {
			continue
		}
		snap, err := h.m.Snapshot(n)
		if err != nil {
			continue
		}
		if old := h.snaps[n]; old != nil {
			old.Close()
		}
		h.snaps[n], changed = snap, true
	}
	for n, snap := range h.snaps {
		if !seen[n] {
			snap.Close()
			delete(h.snaps, n)
			delete(h.keys, n)
			changed = true
		}
	}
	return changed
}

// topologyMsg describes every lab's graph.
func (h *hub) topologyMsg() topologyMsg {
	msg := topologyMsg{Type: "topology", Labs: []labTopo{}}
	for _, name := range sortedKeys(h.snaps) {
		msg.Labs = append(msg.Labs, labTopology(h.snaps[name]))
	}
	return msg
}

type topologyMsg struct {
	Type string    `json:"type"`
	Labs []labTopo `json:"labs"`
}

type labTopo struct {
	Name     string       `json:"name"`
	Phase    string       `json:"phase"`
	Isolated bool         `json:"isolated"`
	Checks   int          `json:"checks"`
	Nodes    []nodeTopo   `json:"nodes"`
	Bridges  []bridgeTopo `json:"bridges"`
	Links    []linkTopo   `json:"links"`
}

type nodeTopo struct {
	Name       string           `json:"name"`
	Interfaces []view.Interface `json:"interfaces"`
}

type bridgeTopo struct {
	Name   string `json:"name"`
	Subnet string `json:"subnet"`
}

// linkTopo is an edge: a point-to-point link (B is NODE:IFACE) or a bridge
// port (Bridge is the bridge's name). A is always NODE:IFACE.
type linkTopo struct {
	A      string `json:"a"`
	B      string `json:"b,omitempty"`
	Bridge string `json:"bridge,omitempty"`
	Subnet string `json:"subnet,omitempty"`
}

func labTopology(s *labs.Snapshot) labTopo {
	v := s.View
	t := labTopo{Name: v.Name, Phase: v.Phase, Isolated: v.Isolated, Checks: len(s.Plan.Checks),
		Nodes: []nodeTopo{}, Bridges: []bridgeTopo{}, Links: []linkTopo{}}
	for _, b := range v.Bridges {
		t.Bridges = append(t.Bridges, bridgeTopo{Name: b.Name, Subnet: b.Subnet})
	}
	for _, n := range v.Nodes {
		t.Nodes = append(t.Nodes, nodeTopo{Name: n.Name, Interfaces: n.Interfaces})
		for _, ifc := range n.Interfaces {
			if ifc.Bridge != "" {
				t.Links = append(t.Links, linkTopo{A: n.Name + ":" + ifc.Name, Bridge: ifc.Bridge, Subnet: ifc.IPv4})
			}
		}
	}
	for _, l := range v.Links {
		t.Links = append(t.Links, linkTopo{A: l.Endpoints[0], B: l.Endpoints[1], Subnet: l.Subnet})
	}
	return t
}

// statsMsg is the live state of every lab: node states and, per node
// interface (NODE:IFACE), its state, counters, rates and impairment.
type statsMsg struct {
	Type string              `json:"type"`
	Full bool                `json:"full"` // else only what changed since the last message
	Time int64               `json:"time"` // unix ms
	Labs map[string]labStats `json:"labs"`
}

type labStats struct {
	Nodes  map[string]string     `json:"nodes"`
	Ifaces map[string]ifaceStats `json:"ifaces"`
}

type ifaceStats struct {
	Up      bool    `json:"up"`    // administratively up and carrier (operstate up)
	Oper    string  `json:"oper"`  // the kernel's operstate
	RxBps   float64 `json:"rxBps"` // bytes per second
	TxBps   float64 `json:"txBps"`
	RxPps   float64 `json:"rxPps"` // packets per second
	TxPps   float64 `json:"txPps"`
	RxBytes uint64  `json:"rxBytes"`
	TxBytes uint64  `json:"txBytes"`
	Netem   string  `json:"netem,omitempty"`
}

type counters struct{ rxB, txB, rxP, txP uint64 }

// collect reads the interfaces of every running node over netlink. A
// bridge port is read from its bridge-side end, in the host's namespace
// (or the isolated lab's): one read covers every port of every lab there
// (in the host's, counters only: hostLinks follows the rest from events),
// with the node end's counters mirrored (what one end sends the other
// receives) and its state the same (a veth is up only when both ends are).
// Point-to-point links are read inside the nodes that have them.
func (h *hub) collect() statsMsg {
	now := time.Now()
	dt := now.Sub(h.prevT).Seconds()
	msg := statsMsg{Type: "stats", Time: now.UnixMilli(), Labs: map[string]labStats{}}
	next := map[string]map[string]counters{}
	dumps := map[string]linkTable{} // by namespace path, this tick only
	dump := func(path string) linkTable {
		d, ok := dumps[path]
		if !ok {
			if path == "" {
				d = h.host.read()
			} else {
				d = linkMap(readNamespace(path))
			}
			dumps[path] = d
		}
		return d
	}
	for name, snap := range h.snaps {
		keys := h.keysOf(name, snap)
		ls := labStats{Nodes: snap.NodeStates(), Ifaces: make(map[string]ifaceStats, len(h.prev[name]))}
		prev, cur := h.prev[name], make(map[string]counters, len(h.prev[name]))
		next[name] = cur
		portsNS := ""
		if snap.LabNetns != "" {
			portsNS = hostnames.NetnsPath(snap.LabNetns)
		}
		for i, n := range snap.Plan.Nodes {
			if ls.Nodes[n.Name] != "running" {
				continue
			}
			for j, ifc := range n.Interfaces {
				var li linkInfo
				var ok bool
				if ifc.Bridge != "" {
					li, ok = dump(portsNS).get(ifc.HostDevice)
					li.c = counters{li.c.txB, li.c.rxB, li.c.txP, li.c.rxP}
				} else {
					li, ok = dump(labs.NetnsPath(name, n.Name)).get(ifc.Name)
				}
				if !ok {
					continue
				}
				key := keys.of[i][j]
				st := li.st
				st.RxBytes, st.TxBytes = li.c.rxB, li.c.txB
				if p, ok := prev[key]; ok && dt > 0 {
					st.RxBps, st.TxBps = rate(li.c.rxB, p.rxB, dt), rate(li.c.txB, p.txB, dt)
					st.RxPps, st.TxPps = rate(li.c.rxP, p.rxP, dt), rate(li.c.txP, p.txP, dt)
				}
				cur[key] = li.c
				ls.Ifaces[key] = st
			}
		}
		msg.Labs[name] = ls
	}
	h.prev, h.prevT = next, now
	return msg
}

// ifaceKeys are a snapshot's NODE:IFACE names, by node and interface
// index in its plan: made once, not each tick.
type ifaceKeys struct {
	snap *labs.Snapshot
	of   [][]string
}

func (h *hub) keysOf(lab string, snap *labs.Snapshot) ifaceKeys {
	if k := h.keys[lab]; k.snap == snap {
		return k
	}
	k := ifaceKeys{snap: snap, of: make([][]string, len(snap.Plan.Nodes))}
	for i, n := range snap.Plan.Nodes {
		for _, ifc := range n.Interfaces {
			k.of[i] = append(k.of[i], n.Name+":"+ifc.Name)
		}
	}
	h.keys[lab] = k
	return k
}

func rate(now, before uint64, dt float64) float64 {
	if now < before {
		return 0 // counters were reset (device re-created)
	}
	return float64(now-before) / dt
}

// linkInfo is one device as a dump found it.
type linkInfo struct {
	st ifaceStats // Up, Oper, Netem
	c  counters
}

// readNamespace dumps the links and qdiscs of the namespace at path ("" =
// the host's), opening and closing it each time: a handle kept open would
// keep a destroyed node's namespace (and its veths) alive.
func readNamespace(path string) map[string]linkInfo {
	var h *netlink.Handle
	var err error
	if path == "" {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		var ns netns.NsHandle
		if ns, err = netns.GetFromPath(path); err != nil {
			return nil
		}
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
		ns.Close()
	}
	if err != nil {
		return nil
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil
	}
	netems, _ := bridge.NetemsOf(h)
	out := make(map[string]linkInfo, len(links))
	for _, l := range links {
		a := l.Attrs()
		li := linkInfo{st: ifaceStats{Oper: a.OperState.String(), Up: a.Flags&net.FlagUp != 0 && a.OperState == netlink.OperUp}}
		if ne := netems[a.Index]; ne != nil {
			li.st.Netem = render.Netem(ne)
		}
		if s := a.Statistics; s != nil {
			li.c = counters{s.RxBytes, s.TxBytes, s.RxPackets, s.TxPackets}
		}
		out[a.Name] = li
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return b
}
