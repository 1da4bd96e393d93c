package labs

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressView reports a deploy's per-node progress: on a terminal one live
// status line rewritten in place, elsewhere one plain line per event (which
// scripts and logs can read).
type progressView struct {
	mu        sync.Mutex
	w         io.Writer
	live      bool
	lab       string
	total     int
	started   int
	ready     int
	lastDrawn time.Time
}

// redrawEvery limits how often the live line is rewritten.
const redrawEvery = 50 * time.Millisecond

func (m *Manager) newProgress(lab string, total int) *progressView {
	p := &progressView{lab: lab, total: total, live: m.Live}
	if !m.Quiet && m.Progress != nil {
		p.w = m.Progress
	}
	return p
}

// nodeStarted records that a node's init has built its filesystem and its
// bridge ports are plugged in.
func (p *progressView) nodeStarted(node string) { p.event(node, "started", &p.started) }

// nodeReady records that a node is configured and running.
func (p *progressView) nodeReady(node string) { p.event(node, "ready", &p.ready) }

func (p *progressView) event(node, what string, counter *int) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	*counter++
	if !p.live {
		fmt.Fprintf(p.w, "node %s: %s\n", node, what)
		return
	}
	if time.Since(p.lastDrawn) >= redrawEvery || p.ready == p.total {
		p.draw()
	}
}

func (p *progressView) draw() {
	p.lastDrawn = time.Now()
	fmt.Fprintf(p.w, "\r\033[Kdeploying %s: %d/%d nodes started, %d/%d ready", p.lab, p.started, p.total, p.ready, p.total)
}

// done ends the live line so what follows starts on a fresh one.
func (p *progressView) done() {
	if p == nil || p.w == nil || !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	fmt.Fprintln(p.w)
}
