package webui

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"leolab/bridge"
	"leolab/labs"
	"leolab/topology"
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
	prev   map[string]counters
	prevT  time.Time
}

func newHub(m *labs.Manager, only string, interval time.Duration) *hub {
	return &hub{m: m, only: only, interval: interval, subs: map[chan []byte]bool{},
		snaps: map[string]*labs.Snapshot{}, prev: map[string]counters{}}
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
			return
		case <-t.C:
		}
	}
}

func (h *hub) tick() {
	h.tickMu.Lock()
	defer h.tickMu.Unlock()
	changed := h.refresh()
	stats := h.collect()
	h.mu.Lock()
	defer h.mu.Unlock()
	if changed || h.topo == nil {
		h.topo = mustJSON(h.topologyMsg())
		h.broadcast(h.topo, true)
	}
	h.broadcast(mustJSON(stats), false)
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
		h.snaps[n], changed = snap, true
	}
	for n := range h.snaps {
		if !seen[n] {
			delete(h.snaps, n)
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
	Name       string               `json:"name"`
	Interfaces []labs.InterfaceView `json:"interfaces"`
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

// collect reads every running node's interfaces over netlink.
func (h *hub) collect() statsMsg {
	now := time.Now()
	dt := now.Sub(h.prevT).Seconds()
	msg := statsMsg{Type: "stats", Time: now.UnixMilli(), Labs: map[string]labStats{}}
	next := map[string]counters{}
	for name, snap := range h.snaps {
		ls := labStats{Nodes: snap.NodeStates(), Ifaces: map[string]ifaceStats{}}
		for _, n := range snap.Plan.Nodes {
			if ls.Nodes[n.Name] != "running" {
				continue
			}
			readNode(labs.NetnsPath(name, n.Name), n, func(ifc string, st ifaceStats, c counters) {
				key := name + "/" + n.Name + ":" + ifc
				if p, ok := h.prev[key]; ok && dt > 0 {
					st.RxBps, st.TxBps = rate(c.rxB, p.rxB, dt), rate(c.txB, p.txB, dt)
					st.RxPps, st.TxPps = rate(c.rxP, p.rxP, dt), rate(c.txP, p.txP, dt)
				}
				next[key] = c
				ls.Ifaces[n.Name+":"+ifc] = st
			})
		}
		msg.Labs[name] = ls
	}
	h.prev, h.prevT = next, now
	return msg
}

func rate(now, before uint64, dt float64) float64 {
	if now < before {
		return 0 // counters were reset (device re-created)
	}
	return float64(now-before) / dt
}

// readNode dumps the links and qdiscs of one node's namespace, opening
// and closing it each time: an open handle would keep a destroyed node's
// namespace (and its veths) alive.
func readNode(path string, n topology.Node, fn func(ifc string, st ifaceStats, c counters)) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return
	}
	netems, _ := bridge.NetemsOf(h)
	want := map[string]bool{}
	for _, ifc := range n.Interfaces {
		want[ifc.Name] = true
	}
	for _, l := range links {
		a := l.Attrs()
		if !want[a.Name] {
			continue
		}
		st := ifaceStats{Oper: a.OperState.String(), Up: a.Flags&1 != 0 && a.OperState == netlink.OperUp}
		if ne := netems[a.Index]; ne != nil {
			st.Netem = labs.FormatNetem(ne)
		}
		var c counters
		if s := a.Statistics; s != nil {
			c = counters{s.RxBytes, s.TxBytes, s.RxPackets, s.TxPackets}
			st.RxBytes, st.TxBytes = s.RxBytes, s.TxBytes
		}
		fn(a.Name, st, c)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return b
}
