//go:build linux

package capture

import "time"

// pollInterval bounds how long a reader sleeps in poll, so it notices a
// stop or a vanished node promptly.
const pollInterval = 50 * time.Millisecond

// read empties endpoint i's ring into the merger until the session stops
// or the endpoint goes away, then reports its counters and closes the ring.
func (s *session) read(i int) {
	r := s.rings[i]
	defer r.close()
	lastCheck := time.Now()
	why := ""
	for s.ctx.Err() == nil && why == "" {
		now := time.Now() // before draining: a mark must not pass what drain left
		got := s.drain(i)
		if now.Sub(lastCheck) >= 4*pollInterval {
			lastCheck = now
			why = r.gone()
		}
		if !got {
			s.ch <- batch{ep: i, mark: now.Add(-sortWindow).UnixNano()}
			r.wait(pollInterval)
		}
	}
	r.stop()
	s.drain(i)
	if blk := r.partial(); blk != nil {
		s.send(i, blk)
	}
	s.end(i, why)
}

// drain copies every block the kernel has handed over to the merger and
// reports whether there was any.
func (s *session) drain(i int) bool {
	r := s.rings[i]
	any := false
	for blk := r.next(); blk != nil; blk = r.next() {
		s.send(i, blk)
		r.release()
		any = true
	}
	return any
}

// send passes a copy of blk to the merger (the ring block itself goes back
// to the kernel at once).
func (s *session) send(i int, blk []byte) {
	buf := <-s.free[i]
	n := copy(buf, blk)
	s.ch <- batch{ep: i, buf: buf[:n]}
}

// end records the endpoint's kernel counters and tells the merger it is done.
func (s *session) end(i int, why string) {
	st := &s.stats[i]
	st.Seen, st.Dropped = s.rings[i].stats()
	if why != "" {
		st.Ended = why
		if s.opts.Notify != nil {
			s.opts.Notify(s.eps[i].Name + ": capture ended: " + why)
		}
	}
	s.ch <- batch{ep: i, done: true}
}
