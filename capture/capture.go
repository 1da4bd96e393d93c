//go:build linux

package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Endpoint is one interface to capture.
type Endpoint struct {
	Name  string // shown in the file and in messages, e.g. "r1:eth1" or "bridge:lan"
	Netns string // path of its network namespace ("" = the caller's, the host)
	Dev   string // device name inside that namespace
}

// Options tune a capture. The zero value captures whole packets until ctx
// ends.
type Options struct {
	Count    int           // stop after this many packets in all (0: no limit)
	Duration time.Duration // stop after this long (0: no limit)
	Snaplen  int           // bytes kept of each packet (0: DefaultSnaplen)
	// Notify receives messages about endpoints that end early (a node
	// destroyed mid-capture). nil: discarded.
	Notify func(msg string)
	// Started, when set, is called once every endpoint's socket is bound
	// and the file header is written: packets from then on are captured.
	Started func()
	// RingBlocks is the kernel ring size per endpoint in 1 MiB blocks (0: 32).
	RingBlocks int
}

// DefaultSnaplen keeps whole packets, including veth's 64 KiB GSO frames.
const DefaultSnaplen = 262144

// sortWindow is how far behind "now" an idle endpoint promises nothing
// older can still come: the ring's block retire timeout plus scheduling
// slack. Packets wait at most this long to be written in time order.
const sortWindow = 200 * time.Millisecond

// maxQueued bounds the bytes waiting for time order across endpoints.
const maxQueued = 64 << 20

// EndpointStats are the counters of one endpoint.
type EndpointStats struct {
	Name     string
	Captured uint64 // packets written to the file
	Seen     uint64 // packets the kernel passed to the socket
	Dropped  uint64 // packets the kernel dropped because the ring was full
	Ended    string // why the endpoint stopped early ("" = it did not)
}

// Stats summarise a capture.
type Stats struct {
	Packets   uint64 // written in all
	Endpoints []EndpointStats
}

// errCount stops the merger when Options.Count packets are written.
var errCount = errors.New("count reached")

// Run captures eps into one pcapng stream on w until ctx ends, opts.Count
// packets are written, opts.Duration passes or every endpoint has gone
// away. The stream is complete and valid whenever Run returns after
// writing its header, even with an error.
func Run(ctx context.Context, eps []Endpoint, w io.Writer, opts Options) (Stats, error) {
	if len(eps) == 0 {
		return Stats{}, errors.New("capture: no endpoint")
	}
	if opts.Snaplen <= 0 {
		opts.Snaplen = DefaultSnaplen
	}
	if opts.RingBlocks <= 0 {
		opts.RingBlocks = defaultNBlk
	}
	rings, err := openRings(eps, opts)
	if err != nil {
		return Stats{}, err
	}
	start := time.Now()
	nw, err := newWriter(w, eps, opts.Snaplen)
	if err != nil {
		closeRings(rings)
		return Stats{}, fmt.Errorf("write pcapng header: %w", err)
	}
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	if opts.Started != nil {
		opts.Started()
	}
	s := newSession(ctx, eps, rings, nw, opts)
	runErr := s.run()
	return s.finish(start, runErr)
}

func openRings(eps []Endpoint, opts Options) ([]*ring, error) {
	rings := make([]*ring, 0, len(eps))
	for _, ep := range eps {
		r, err := openRing(ep.Netns, ep.Dev, opts.Snaplen, opts.RingBlocks)
		if err != nil {
			closeRings(rings)
			return nil, fmt.Errorf("capture %s: %w", ep.Name, err)
		}
		rings = append(rings, r)
	}
	return rings, nil
}

func closeRings(rings []*ring) {
	for _, r := range rings {
		r.close()
	}
}

// newWriter writes the section header and one interface block per
// endpoint, and flushes them so a live reader (Wireshark) starts at once.
func newWriter(w io.Writer, eps []Endpoint, snaplen int) (*pcapgo.NgWriter, error) {
	intf := func(ep Endpoint) pcapgo.NgInterface {
		where := "host"
		if ep.Netns != "" {
			where = ep.Netns
		}
		return pcapgo.NgInterface{
			Name:        ep.Name,
			Description: fmt.Sprintf("%s in %s", ep.Dev, where),
			OS:          runtime.GOOS,
			LinkType:    layers.LinkTypeEthernet,
			SnapLength:  uint32(snaplen),
		}
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "leolab capture"}}
	nw, err := pcapgo.NewNgWriterInterface(w, intf(eps[0]), opts)
	if err != nil {
		return nil, err
	}
	for _, ep := range eps[1:] {
		if _, err := nw.AddInterface(intf(ep)); err != nil {
			return nil, err
		}
	}
	return nw, nw.Flush()
}

// session is one running capture: a reader goroutine per endpoint feeding
// the merger, which runs on the caller's goroutine and owns the writer.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	eps    []Endpoint
	rings  []*ring
	nw     *pcapgo.NgWriter
	opts   Options
	ch     chan batch
	free   []chan []byte
	stats  []EndpointStats
	total  uint64
	wg     sync.WaitGroup
}

func newSession(ctx context.Context, eps []Endpoint, rings []*ring, nw *pcapgo.NgWriter, opts Options) *session {
	s := &session{eps: eps, rings: rings, nw: nw, opts: opts,
		ch: make(chan batch, 64*len(eps)), stats: make([]EndpointStats, len(eps))}
	s.ctx, s.cancel = context.WithCancel(ctx)
	for i := range eps {
		s.stats[i].Name = eps[i].Name
		// Copies of ring blocks in flight per endpoint; when all wait to be
		// written the reader stops emptying the ring and the kernel counts drops.
		free := make(chan []byte, 16)
		for range cap(free) {
			free <- make([]byte, blockSize)
		}
		s.free = append(s.free, free)
	}
	return s
}

func (s *session) run() error {
	for i := range s.rings {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.read(i)
		}()
	}
	m := newMerger(len(s.eps), maxQueued, s.write, func(ep int, buf []byte) { s.free[ep] <- buf[:cap(buf)] })
	var err error
	for live := len(s.eps); live > 0; {
		b := <-s.ch
		if b.done {
			live--
		}
		if err != nil { // stopping: keep taking batches until every reader is done
			if b.buf != nil {
				s.free[b.ep] <- b.buf[:cap(b.buf)]
			}
			continue
		}
		if err = m.add(b); err == nil && len(s.ch) == 0 {
			err = s.nw.Flush() // idle: let a live reader see what we have
		}
		if err != nil {
			s.cancel()
			m.drop()
		}
	}
	if err == nil {
		err = m.flush(true)
	}
	s.wg.Wait()
	if errors.Is(err, errCount) {
		return nil
	}
	return err
}

func (s *session) write(ep int, p packet) error {
	if s.opts.Count > 0 && s.total >= uint64(s.opts.Count) {
		return errCount
	}
	ci := gopacket.CaptureInfo{
		Timestamp:      time.Unix(0, p.ts),
		CaptureLength:  len(p.data),
		Length:         max(p.wire, len(p.data)),
		InterfaceIndex: ep,
	}
	if err := s.nw.WritePacket(ci, p.data); err != nil {
		return err
	}
	s.total++
	s.stats[ep].Captured++
	if s.opts.Count > 0 && s.total >= uint64(s.opts.Count) {
		return errCount
	}
	return nil
}

// finish writes each endpoint's statistics block and flushes the stream.
func (s *session) finish(start time.Time, runErr error) (Stats, error) {
	now := time.Now()
	for i, st := range s.stats {
		err := s.nw.WriteInterfaceStats(i, pcapgo.NgInterfaceStatistics{
			LastUpdate: now, StartTime: start, EndTime: now,
			PacketsReceived: st.Seen, PacketsDropped: st.Dropped,
		})
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("write pcapng statistics: %w", err)
		}
	}
	if err := s.nw.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("write pcapng: %w", err)
	}
	return Stats{Packets: s.total, Endpoints: s.stats}, runErr
}
