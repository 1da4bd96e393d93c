package webui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"leolab/labs"
)

// Options configure a Server.
type Options struct {
	Manager     *labs.Manager
	Lab         string        // show and act on this lab only ("" = every lab)
	Listen      string        // host:port; loopback unless AllowRemote
	AllowRemote bool          // allow a non-loopback Listen address
	Interval    time.Duration // live update period (default 1s)
	Shell       []string      // command of a node terminal (default /bin/sh -l)
	Token       string        // the access token ("" = a random one)
}

// Server is the web UI of one leolab root.
type Server struct {
	opts    Options
	token   string
	handler http.Handler
	live    *hub
}

const (
	cookieName  = "leolab_token"
	headerName  = "X-Leolab-Token"
	defaultAddr = "127.0.0.1:8090"
)

// New checks opts and builds a server; nothing listens yet.
func New(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = defaultAddr
	}
	if err := CheckListen(opts.Listen, opts.AllowRemote); err != nil {
		return nil, err
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if len(opts.Shell) == 0 {
		opts.Shell = []string{"/bin/sh", "-l"}
	}
	s := &Server{opts: opts, token: opts.Token}
	if s.token == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("make token: %w", err)
		}
		s.token = hex.EncodeToString(b[:])
	}
	s.live = newHub(opts.Manager, opts.Lab, opts.Interval)
	s.handler = s.routes()
	return s, nil
}

// CheckListen refuses a listen address that is not host:port, and one
// that is not loopback unless allowRemote.
func CheckListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT (%v)", addr, err)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("--listen %q is not a loopback address: anyone who can reach it and learns the token gets root shells in the lab's nodes; give --allow-remote to mean it", addr)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Token is the access token the URL carries.
func (s *Server) Token() string { return s.token }

// URL is the page's address on ln, token included.
func (s *Server) URL(ln net.Listener) string {
	addr := ln.Addr().String()
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	u := url.URL{Scheme: "http", Host: addr, Path: "/"}
	q := url.Values{"token": {s.token}}
	if s.opts.Lab != "" {
		q.Set("lab", s.opts.Lab)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Handler is the whole UI behind the token check.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx is done.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	stop := context.AfterFunc(ctx, func() {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(c)
	})
	defer stop()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	mux.HandleFunc("GET /api/topology", s.topology)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("GET /api/term", s.terminal)
	mux.HandleFunc("POST /api/link", s.link)
	mux.HandleFunc("POST /api/netem", s.netem)
	mux.HandleFunc("POST /api/check", s.check)
	s.addCapture(mux)
	// Writes must come from the page itself (Sec-Fetch-Site / Origin).
	csrf := http.NewCrossOriginProtection()
	return s.guard(csrf.Handler(mux))
}

// guard refuses requests without the token (401) or with a wrong one
// (403), and requests naming a host other than a loopback one when the
// server listens on loopback (DNS rebinding). The page's URL carries the
// token once: it becomes a cookie and the browser is sent to the URL
// without it.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.AllowRemote && !loopbackRequestHost(r.Host) {
			http.Error(w, "forbidden: unexpected Host", http.StatusForbidden)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" && r.Method == http.MethodGet && r.URL.Path == "/" {
			if !s.tokenOK(q) {
				http.Error(w, "forbidden: wrong token", http.StatusForbidden)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.token, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
			rest := r.URL.Query()
			rest.Del("token")
			u := url.URL{Path: "/", RawQuery: rest.Encode()}
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		given := requestToken(r)
		switch {
		case given == "":
			http.Error(w, "unauthorized: open the URL with the token that leolab ui printed", http.StatusUnauthorized)
		case !s.tokenOK(given):
			http.Error(w, "forbidden: wrong token", http.StatusForbidden)
		default:
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Referrer-Policy", "no-referrer")
			next.ServeHTTP(w, r)
		}
	})
}

// requestToken is the token a request carries: header, cookie, or ?token=.
func requestToken(r *http.Request) string {
	if t := r.Header.Get(headerName); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return c.Value
	}
	return r.URL.Query().Get("token")
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func loopbackRequestHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return isLoopbackHost(strings.Trim(host, "[]"))
}

// sameOrigin tells whether a WebSocket upgrade comes from the page: its
// Origin must be present and name this very host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}
