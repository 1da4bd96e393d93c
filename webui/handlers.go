package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"leolab/check"
	"leolab/topology"
)

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
	w.Write(indexHTML)
}

// topology answers the current graph of every lab (or the one) as JSON.
func (s *Server) topology(w http.ResponseWriter, r *http.Request) {
	h := newHub(s.opts.Manager, s.opts.Lab, time.Second)
	h.refresh()
	defer h.reset()
	writeJSON(w, http.StatusOK, h.topologyMsg())
}

// events streams the live messages as server-sent events: the topology
// first and whenever it changes, the stats every interval.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	ch, stop := s.live.subscribe()
	defer stop()
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg := <-ch:
			if _, err := fmt.Fprintf(w, "data: %s\n\n", msg); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// actionReq names one interface of a lab, and what to do with it.
type actionReq struct {
	Lab    string `json:"lab"`
	Target string `json:"target"` // NODE:IFACE
	Up     bool   `json:"up"`
	Clear  bool   `json:"clear"`
	Delay  string `json:"delay"`
	Jitter string `json:"jitter"`
	Loss   string `json:"loss"`
	Rate   string `json:"rate"`
}

func (s *Server) readAction(w http.ResponseWriter, r *http.Request) (*actionReq, bool) {
	var a actionReq
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return nil, false
	}
	if err := s.allowLab(a.Lab); err != nil {
		writeErr(w, http.StatusForbidden, err)
		return nil, false
	}
	return &a, true
}

// allowLab refuses a lab other than the one the server was started for.
func (s *Server) allowLab(lab string) error {
	if lab == "" {
		return errors.New("no lab given")
	}
	if s.opts.Lab != "" && lab != s.opts.Lab {
		return fmt.Errorf("this ui shows lab %s only", s.opts.Lab)
	}
	return nil
}

func (s *Server) link(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAction(w, r)
	if !ok {
		return
	}
	writeDone(w, s.opts.Manager.SetLink(a.Lab, a.Target, a.Up))
}

// writeDone answers an action: {"ok": true}, or err as a conflict.
func writeDone(w http.ResponseWriter, err error) {
	if err != nil {
		writeErr(w, http.StatusConflict, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) netem(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAction(w, r)
	if !ok {
		return
	}
	var n *topology.Netem
	if !a.Clear {
		var err error
		n, err = topology.ParseNetemFlags(topology.NetemFlags{Delay: a.Delay, Jitter: a.Jitter, Loss: a.Loss, Rate: a.Rate})
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
	}
	writeDone(w, s.opts.Manager.SetNetem(a.Lab, a.Target, n))
}

// check runs the lab's recorded checks (retrying failures for up to 20s).
func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAction(w, r)
	if !ok {
		return
	}
	t, err := s.opts.Manager.LoadChecks(a.Lab, "", "")
	if err != nil {
		writeErr(w, http.StatusConflict, err)
		return
	}
	if len(t.Checks) == 0 {
		writeErr(w, http.StatusConflict, fmt.Errorf("lab %s has no checks", a.Lab))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	results := check.Run(ctx, t.Lab, t.Checks, check.Options{Timeout: 20 * time.Second})
	writeJSON(w, http.StatusOK, map[string]any{"passed": check.Passed(results), "results": results})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
