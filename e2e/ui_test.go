//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/gopacket/gopacket/pcapgo"
)

// uiDemo is labs/examples/demo.yaml under a name and subnets of its own, so
// it runs beside other users of the host.
// deployDemo deploys the demo lab (wuidemo) in a fresh env; it is
// destroyed when the test ends.
func deployDemo(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.must("deploy", uiDemo(e))
	t.Cleanup(func() { e.must("destroy", "--lab", "wuidemo") })
	return e
}

func uiDemo(e *env) string {
	e.t.Helper()
	data, err := os.ReadFile("../labs/examples/demo.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	text := strings.Replace(string(data), "name: demo", "name: wuidemo", 1)
	text = strings.NewReplacer("172.20.1.", "172.20.171.", "172.20.2.", "172.20.172.").Replace(text)
	return e.writeTopo("wuidemo.yaml", text)
}

// startUI runs `leolab ui` on a free loopback port and returns its URL.
func startUI(e *env, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"--root", e.root, "ui", "--listen", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		e.t.Fatalf("leolab ui printed no URL: %v", err)
	}
	url := regexp.MustCompile(`http://\S+`).FindString(line)
	if url == "" {
		e.t.Fatalf("leolab ui: no URL in %q", line)
	}
	return url
}

// browser starts headless Chromium with a fresh profile. The tests skip
// only when no Chromium is installed outside CI; in CI (make test-deps
// installs Debian's chromium) a missing browser fails them.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (make test-deps installs it)")
		}
		t.Skip("chromium is not installed: apt-get install chromium (make test-deps does)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// pollText waits (at most a minute: a bound, not a measure) until the
// JavaScript expression yields want.
func pollText(t *testing.T, ctx context.Context, what, expr, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q (err %v), want %q", what, got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// typeKeys types s as a keyboard does: a keyDown carrying the text, then a
// keyUp, per key (chromedp's SendKeys adds a char event, which a terminal
// reads as a second key press).
func typeKeys(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	for _, r := range s {
		key, code, vk := string(r), "", int64(0)
		switch {
		case r == '\r':
			key, code, vk = "Enter", "Enter", 13
		case r == ' ':
			code, vk = "Space", 32
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			// Other keys' codes differ from their characters (45 is Insert).
			code, vk = "Key"+strings.ToUpper(key), int64(unicode.ToUpper(r))
		}
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk}
			if typ == input.DispatchKeyEventTypeKeyDown {
				p.Text, p.UnmodifiedText = string(r), string(r)
			}
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, p); err != nil {
				t.Fatalf("type %q: %v", r, err)
			}
		}
	}
}

func linkStateExpr(end string) string {
	return fmt.Sprintf(`(document.querySelector('li[data-ends~=%q] .state') || {}).textContent || ''`, end)
}

// TestUIShowsLabAndFollowsLinkChanges opens the page on a running example
// lab: every node is listed as running, a `leolab link down` from the
// command line shows as down on the page, and up again.
func TestUIShowsLabAndFollowsLinkChanges(t *testing.T) {
	e := deployDemo(t)
	ctx := browser(t)
	url := startUI(e, "--lab", "wuidemo")
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	want := []string{"h1", "h2", "h3", "r1"}
	pollText(t, ctx, "nodes listed as running",
		`[...document.querySelectorAll('li[data-node]')].filter(li => li.querySelector('.state').textContent === 'running').map(li => li.dataset.node).sort().join(' ')`,
		"wuidemo/"+strings.Join(want, " wuidemo/"))
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`leolab.cy.nodes('.node').map(n => n.data('name'))`))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(drawn)
	if strings.Join(drawn, " ") != strings.Join(want, " ") {
		t.Errorf("graph draws nodes %v, want %v", drawn, want)
	}
	pollText(t, ctx, "r1:eth1 before", linkStateExpr("wuidemo/r1:eth1"), "up")

	e.must("link", "down", "r1:eth1")
	pollText(t, ctx, "r1:eth1 after link down", linkStateExpr("wuidemo/r1:eth1"), "down")
	pollText(t, ctx, "r1:eth1 edge drawn down", `leolab.cy.getElementById('e:wuidemo/r1:eth1').hasClass('down') ? 'down' : 'up'`, "down")
	e.must("link", "up", "r1:eth1")
	pollText(t, ctx, "r1:eth1 after link up", linkStateExpr("wuidemo/r1:eth1"), "up")

	// A click cuts a link as the command line does, and another restores it.
	if err := chromedp.Do(ctx, chromedp.Click(`li[data-link="wuidemo/h1:eth0"] button[aria-label="Take h1:eth0 down"]`)); err != nil {
		t.Fatal(err)
	}
	pollText(t, ctx, "h1:eth0 after the Down button", linkStateExpr("wuidemo/h1:eth0"), "down")
	if r := e.run("exec", "h1", "--", "ping", "-c", "1", "-W", "1", "h2"); r.code == 0 {
		t.Error("h1 still pings h2 with its port cut from the page")
	}
	if err := chromedp.Do(ctx, chromedp.Click(`li[data-link="wuidemo/h1:eth0"] button[aria-label="Bring h1:eth0 up"]`)); err != nil {
		t.Fatal(err)
	}
	pollText(t, ctx, "h1:eth0 after the Up button", linkStateExpr("wuidemo/h1:eth0"), "up")

	// An impairment set from the command line shows on its link (a rate:
	// tbf works on kernels without netem).
	e.must("netem", "set", "r1:eth1", "--rate", "10mbit")
	netemExpr := `(document.querySelector('li[data-link="wuidemo/r1:eth1"] .netem') || {}).textContent || ''`
	pollText(t, ctx, "r1:eth1's impairment", netemExpr, "rate 10000000bit")
	e.must("netem", "clear", "r1:eth1")
	pollText(t, ctx, "r1:eth1's impairment cleared", netemExpr, "")

	if shot := os.Getenv("LEOLAB_UI_SCREENSHOT"); shot != "" {
		// The README's picture: one bridge port cut, a shell open in r1.
		e.must("link", "down", "h2:eth0")
		pollText(t, ctx, "h2:eth0 down", linkStateExpr("wuidemo/h2:eth0"), "down")
		if err := chromedp.Do(ctx, chromedp.Click(`li[data-node="wuidemo/r1"] button`),
			chromedp.WaitReady(`#term .xterm-helper-textarea`), chromedp.Focus(`#term .xterm-helper-textarea`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the prompt; a picture only, no outcome depends on it
		typeKeys(t, ctx, "ip -4 route\r")
		time.Sleep(time.Second)
		defer e.must("link", "up", "h2:eth0")
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(shot, png, 0o644)
	}
}

// TestUITerminalRunsInNode types `hostname` into a node's web terminal and
// reads the node's name back from the screen.
func TestUITerminalRunsInNode(t *testing.T) {
	e := deployDemo(t)
	ctx := browser(t)
	url := startUI(e)
	err := chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.WaitVisible(`li[data-node="wuidemo/h3"] button`),
		chromedp.Click(`li[data-node="wuidemo/h3"] button`),
		chromedp.WaitReady(`#term .xterm-helper-textarea`))
	if err != nil {
		t.Fatal(err)
	}
	screen := `[...document.querySelectorAll('#term .xterm-rows > div')].map(d => d.textContent.trim())`
	// Wait for the shell's prompt before typing.
	pollText(t, ctx, "a prompt", screen+`.some(l => l.length > 0) ? 'yes' : 'no'`, "yes")
	if err := chromedp.Do(ctx, chromedp.Focus(`#term .xterm-helper-textarea`)); err != nil {
		t.Fatal(err)
	}
	typeKeys(t, ctx, "hostname\r")
	// The command's output is a line of its own holding exactly the name.
	pollText(t, ctx, "hostname's output", screen+`.includes('h3') ? 'h3' : JSON.stringify(`+screen+`)`, "h3")

	// The lab's checks run from the page and report there.
	if err := chromedp.Do(ctx, chromedp.Click(`section[data-lab="wuidemo"] h2 button`)); err != nil {
		t.Fatal(err)
	}
	pollText(t, ctx, "check results", `(document.querySelector('section[data-lab="wuidemo"] .checks caption') || {}).textContent || ''`, "all checks passed")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('section[data-lab="wuidemo"] .checks tr').length`))
	if err != nil || rows != 4 {
		t.Errorf("check rows: %d (%v), want the demo's 4 checks", rows, err)
	}
}

// TestUIRefusesWithoutTokenAndCrossOrigin: the page without the token is
// refused, and a page of another origin on the same host (same site: the
// browser sends the cookie along) cannot open a terminal.
func TestUIRefusesWithoutTokenAndCrossOrigin(t *testing.T) {
	e := deployDemo(t)
	ctx := browser(t)
	url := startUI(e)
	bare := url[:strings.Index(url, "?")]
	if err := chromedp.Do(ctx, chromedp.Navigate(bare)); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "unauthorized") {
		t.Fatalf("page without token shows %q, want a refusal", body)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/api/topology').then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusUnauthorized {
		t.Errorf("fetch without token: %d, want 401", status)
	}

	// Get the cookie, then try from another origin of 127.0.0.1.
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(`li[data-node="wuidemo/h1"]`)); err != nil {
		t.Fatal(err)
	}
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!doctype html><title>other</title><p>other origin</p>"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go evil.Serve(ln)
	defer evil.Close()
	wsURL := "ws" + strings.TrimPrefix(bare, "http") + "api/term?lab=wuidemo&node=h1"
	probe := fmt.Sprintf(`new Promise(res => { const ws = new WebSocket(%q);
		ws.onopen = () => res('opened'); ws.onerror = () => res('refused'); })`, wsURL)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/")); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](probe, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != "refused" {
		t.Errorf("cross-origin WebSocket to the terminal: %s", got)
	}
	// The same probe from the page's own origin opens: the refusal above
	// was the origin's doing.
	if err := chromedp.Do(ctx, chromedp.Navigate(bare), chromedp.WaitVisible(`li[data-node="wuidemo/h1"]`)); err != nil {
		t.Fatal(err)
	}
	if got, err = chromedp.Run(ctx, chromedp.Evaluate[string](probe, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	if got != "opened" {
		t.Errorf("same-origin WebSocket to the terminal: %s", got)
	}
}

// TestUICaptureDownload downloads a pcapng capture of a node interface
// through the page's capture URL while the node pings, and reads it back.
func TestUICaptureDownload(t *testing.T) {
	e := deployDemo(t)
	url := startUI(e)
	base, token := url[:strings.Index(url, "?")], url[strings.Index(url, "token=")+len("token="):]
	req, _ := http.NewRequest("GET", base+"api/capture?lab=wuidemo&target=h1:eth0&count=4&duration=60s", nil)
	req.Header.Set("X-Leolab-Token", token)
	done := make(chan struct{})
	defer close(done)
	go func() { // ping until the capture has its packets
		for {
			select {
			case <-done:
				return
			default:
			}
			exec.Command(binary, "--root", e.root, "exec", "h1", "--", "ping", "-c", "1", "-W", "1", "h2").Run()
		}
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), ".pcapng") {
		t.Fatalf("capture: %s %v", resp.Status, resp.Header)
	}
	r, err := pcapgo.NewNgReader(resp.Body, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	packets := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		packets++
	}
	if packets != 4 {
		t.Errorf("capture holds %d packets, want 4", packets)
	}
	if ifc, err := r.Interface(0); err != nil || ifc.Name != "h1:eth0" {
		t.Errorf("capture's interface: %+v %v, want h1:eth0", ifc, err)
	}
}
