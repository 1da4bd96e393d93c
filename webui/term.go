package webui

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/coder/websocket"
)

// terminal upgrades to a WebSocket relaying a shell on a pty of the node:
// binary messages carry the terminal's bytes both ways, a text message
// from the page is a resize {"rows":R,"cols":C}, and the last text message
// to the page is {"exit":CODE} (or {"error":MSG}).
func (s *Server) terminal(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "forbidden: cross-origin WebSocket", http.StatusForbidden)
		return
	}
	lab, node := r.URL.Query().Get("lab"), r.URL.Query().Get("node")
	if err := s.allowLab(lab); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	rows, cols := dim(r, "rows", 24), dim(r, "cols", 80)
	// The Origin was checked above, against the request's own host.
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	tty, err := s.opts.Manager.OpenTty(ctx, lab, node, s.opts.Shell, rows, cols)
	if err != nil {
		sendText(ctx, ws, map[string]any{"error": err.Error()})
		ws.Close(websocket.StatusNormalClosure, "")
		return
	}
	defer tty.Close()
	go s.ttyInput(ctx, cancel, ws, tty.Master.Write, tty.Resize)
	buf := make([]byte, 32<<10)
	for {
		n, err := tty.Master.Read(buf)
		if n > 0 {
			if werr := ws.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			break // EIO once the shell and its children closed the pty
		}
	}
	code, err := tty.Wait()
	if err != nil {
		sendText(ctx, ws, map[string]any{"error": err.Error()})
	} else {
		sendText(ctx, ws, map[string]any{"exit": code})
	}
	ws.Close(websocket.StatusNormalClosure, "")
}

// ttyInput relays the page's keystrokes and resizes to the pty; the page
// going away cancels the session.
func (s *Server) ttyInput(ctx context.Context, cancel func(), ws *websocket.Conn,
	write func([]byte) (int, error), resize func(rows, cols uint16) error) {
	defer cancel()
	ws.SetReadLimit(1 << 20)
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if _, err := write(data); err != nil {
				return
			}
			continue
		}
		var rs struct{ Rows, Cols uint16 }
		if json.Unmarshal(data, &rs) == nil {
			resize(rs.Rows, rs.Cols)
		}
	}
}

func sendText(ctx context.Context, ws *websocket.Conn, v any) {
	b, _ := json.Marshal(v)
	ws.Write(ctx, websocket.MessageText, b)
}

// dim reads a terminal dimension from the query (1..1000, else def).
func dim(r *http.Request, key string, def uint16) uint16 {
	v, err := strconv.Atoi(r.URL.Query().Get(key))
	if err != nil || v < 1 || v > 1000 {
		return def
	}
	return uint16(v)
}
