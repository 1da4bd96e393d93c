package webui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"leolab/capture"
)

// maxCapture bounds one capture from the page.
const maxCapture = 5 * time.Minute

func (s *Server) addCapture(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/capture", s.capture)
}

// capture streams a pcapng capture of one node interface as a download:
// ?lab=L&target=NODE:IFACE[&duration=10s][&count=N]. It ends after the
// duration (default 10s, at most 5m), the count, or when the page goes
// away; the kernel's drop count is in the file's statistics blocks.
func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	// A GET passes the cross-origin guard: only the page itself may start one.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "forbidden: cross-site capture", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	lab, target := q.Get("lab"), q.Get("target")
	if err := s.allowLab(lab); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	opts, err := captureOptions(q.Get("duration"), q.Get("count"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ep, err := s.opts.Manager.CaptureEndpoint(lab, target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	name := strings.NewReplacer(":", "-", "/", "-").Replace(lab + "-" + target)
	w.Header().Set("Content-Type", "application/x-pcapng")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+".pcapng"))
	fw := flushWriter{w: w}
	if f, ok := w.(http.Flusher); ok {
		fw.f = f
	}
	// After the header is written, errors can only end the stream; the
	// file is complete and valid whenever Run returns.
	capture.Run(r.Context(), []capture.Endpoint{ep}, fw, opts)
}

func captureOptions(duration, count string) (capture.Options, error) {
	opts := capture.Options{Duration: 10 * time.Second}
	if duration != "" {
		d, err := time.ParseDuration(duration)
		if err != nil || d <= 0 || d > maxCapture {
			return opts, fmt.Errorf("duration %q: want a duration up to %s", duration, maxCapture)
		}
		opts.Duration = d
	}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return opts, fmt.Errorf("count %q: want a positive number", count)
		}
		opts.Count = n
	}
	return opts, nil
}

// flushWriter sends each write on at once, so the download progresses.
type flushWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}
