package capture

import "math"

// batch is what an endpoint's reader sends to the merger: a copied ring
// block (buf, may be nil), a promise that none of its later packets is
// older than mark (Unix ns), or its end.
type batch struct {
	ep   int
	buf  []byte
	mark int64
	done bool
}

// queued is a packet waiting in the merger; last marks the final packet of
// its block, whose buffer goes back to the reader once it is written.
type queued struct {
	packet
	buf  []byte
	last bool
}

// merger interleaves the packets of several endpoints in time order. Each
// endpoint's packets arrive in order; a packet is written once every other
// live endpoint has either a queued packet (not older, by the choice of
// the oldest head) or a mark promising nothing older can still come. When
// more than maxBytes wait, the oldest goes out anyway so memory stays
// bounded (order is then best effort).
type merger struct {
	q        [][]queued
	mark     []int64
	live     []bool
	bytes    int
	maxBytes int
	emit     func(ep int, p packet) error
	free     func(ep int, buf []byte)
}

func newMerger(n, maxBytes int, emit func(int, packet) error, free func(int, []byte)) *merger {
	m := &merger{q: make([][]queued, n), mark: make([]int64, n), live: make([]bool, n),
		maxBytes: maxBytes, emit: emit, free: free}
	for i := range m.live {
		m.live[i] = true
		m.mark[i] = math.MinInt64
	}
	return m
}

// add takes in one batch and writes every packet that is now in order.
func (m *merger) add(b batch) error {
	if b.buf != nil {
		m.enqueue(b.ep, b.buf)
	}
	m.mark[b.ep] = max(m.mark[b.ep], b.mark)
	if b.done {
		m.live[b.ep] = false
	}
	return m.flush(false)
}

func (m *merger) enqueue(ep int, buf []byte) {
	start := len(m.q[ep])
	parseBlock(buf, func(p packet) {
		m.q[ep] = append(m.q[ep], queued{packet: p, buf: buf})
		m.bytes += len(p.data)
		m.mark[ep] = max(m.mark[ep], p.ts)
	})
	if len(m.q[ep]) == start {
		m.free(ep, buf)
		return
	}
	m.q[ep][len(m.q[ep])-1].last = true
}

// flush writes packets while the oldest head may go out (all: every
// queued packet, at the end of the capture).
func (m *merger) flush(all bool) error {
	for {
		i := m.oldest()
		if i < 0 || !(all || m.bytes > m.maxBytes || m.ready(i)) {
			return nil
		}
		p := m.q[i][0]
		m.q[i][0] = queued{}
		m.q[i] = m.q[i][1:]
		m.bytes -= len(p.data)
		err := m.emit(i, p.packet)
		if p.last {
			m.free(i, p.buf)
		}
		if err != nil {
			return err
		}
	}
}

// oldest is the endpoint whose head packet is oldest, or -1.
func (m *merger) oldest() int {
	best := -1
	for i, q := range m.q {
		if len(q) > 0 && (best < 0 || q[0].ts < m.q[best][0].ts) {
			best = i
		}
	}
	return best
}

// ready reports whether endpoint i's head can go out: no other live
// endpoint can still deliver an older packet.
func (m *merger) ready(i int) bool {
	ts := m.q[i][0].ts
	for j := range m.q {
		if j != i && m.live[j] && len(m.q[j]) == 0 && m.mark[j] < ts {
			return false
		}
	}
	return true
}

// drop releases every queued buffer without writing (after an error).
func (m *merger) drop() {
	for i := range m.q {
		for _, p := range m.q[i] {
			if p.last {
				m.free(i, p.buf)
			}
		}
		m.q[i] = nil
	}
	m.bytes = 0
}
