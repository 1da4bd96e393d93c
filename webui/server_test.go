package webui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"leolab/labs"
)

func testServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Options{Manager: &labs.Manager{Root: t.TempDir()}, Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Every path answers 401 without a token and 403 with a wrong one.
func TestRequestsWithoutTokenAreRefused(t *testing.T) {
	_, ts := testServer(t)
	for _, p := range []string{"/", "/static/app.js", "/api/topology", "/api/events", "/api/term?lab=x&node=y", "/nothing"} {
		if r := get(t, ts.URL+p, nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without token: %d, want 401", p, r.StatusCode)
		}
		if r := get(t, ts.URL+p, map[string]string{headerName: "wrong"}); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with a wrong token: %d, want 403", p, r.StatusCode)
		}
		if r := get(t, ts.URL+p, map[string]string{"Cookie": cookieName + "=wrong"}); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with a wrong cookie: %d, want 403", p, r.StatusCode)
		}
	}
	for _, p := range []string{"/api/link", "/api/netem", "/api/check"} {
		resp, err := http.Post(ts.URL+p, "application/json", strings.NewReader(`{"lab":"x","target":"a:eth0"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without token: %d, want 401", p, resp.StatusCode)
		}
	}
	if r := get(t, ts.URL+"/static/app.js", map[string]string{headerName: "secret-token"}); r.StatusCode != http.StatusOK {
		t.Errorf("GET /static/app.js with the token: %d", r.StatusCode)
	}
}

// The URL's token becomes an HttpOnly SameSite=Strict cookie, and the
// browser is sent on without the token in its address bar.
func TestTokenInURLBecomesStrictCookie(t *testing.T) {
	_, ts := testServer(t)
	r := get(t, ts.URL+"/?lab=demo&token=secret-token", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/?lab=demo" {
		t.Fatalf("got %d to %q, want 303 to /?lab=demo", r.StatusCode, r.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range r.Cookies() {
		if k.Name == cookieName {
			c = k
		}
	}
	if c == nil || c.Value != "secret-token" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v: want HttpOnly SameSite=Strict with the token", c)
	}
	if r := get(t, ts.URL+"/?token=nope", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token in the URL: %d, want 403", r.StatusCode)
	}
	if r := get(t, ts.URL+"/", map[string]string{"Cookie": cookieName + "=secret-token"}); r.StatusCode != http.StatusOK {
		t.Errorf("page with the cookie: %d, want 200", r.StatusCode)
	}
}

// A WebSocket upgrade from another origin is refused even with a valid
// cookie (a page on another port of 127.0.0.1 is same-site: the browser
// sends SameSite=Strict cookies along).
func TestCrossOriginWebSocketIsRefused(t *testing.T) {
	_, ts := testServer(t)
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/term?lab=x&node=y"
	for _, origin := range []string{"http://evil.example", "http://127.0.0.1:1", ""} {
		hdr := http.Header{"Cookie": {cookieName + "=secret-token"}}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		conn, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: hdr})
		if err == nil {
			conn.CloseNow()
			t.Errorf("origin %q: upgrade accepted", origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want 403", origin, err)
		}
	}
}

// Writes from another origin are refused, even with the cookie.
func TestCrossSitePostIsRefused(t *testing.T) {
	_, ts := testServer(t)
	for _, h := range []map[string]string{{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"}} {
		req, _ := http.NewRequest("POST", ts.URL+"/api/link", strings.NewReader(`{"lab":"x","target":"a:eth0"}`))
		req.Header.Set("Cookie", cookieName+"=secret-token")
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST with %v: %d, want 403", h, resp.StatusCode)
		}
	}
}

// A request naming a non-loopback host is refused (DNS rebinding) unless
// the server was started with AllowRemote.
func TestForeignHostHeaderIsRefused(t *testing.T) {
	_, ts := testServer(t)
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "attacker.example:8090"
	req.Header.Set(headerName, "secret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Host attacker.example: %d, want 403", resp.StatusCode)
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8090", false, true}, {"[::1]:0", false, true}, {"localhost:1", false, true},
		{"0.0.0.0:8090", false, false}, {"192.0.2.1:80", false, false}, {":8090", false, false},
		{"0.0.0.0:8090", true, true}, {"nonsense", true, false},
	} {
		if err := CheckListen(c.addr, c.remote); (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %v) = %v", c.addr, c.remote, err)
		}
	}
}
