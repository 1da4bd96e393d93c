// Command uibench measures leolab ui on a large lab (issue 18's scale
// goals): how long headless Chromium takes from opening the page to
// drawing and listing every node of an N-node lab with its live state, and
// the server's CPU use while that one page stays open. It deploys the lab
// under a root of its own, and destroys it at the end.
//
//	go run ./bench/uibench -leolab bin/leolab -nodes 1000
//
// With -loads and -rounds it opens the page several times per server and
// prints the min and median of each figure; -ui names other binaries to
// serve the page (A/B on one deployed lab: the servers take turns).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	bin := flag.String("leolab", "bin/leolab", "leolab binary (deploys and destroys the lab)")
	uis := flag.String("ui", "", "comma-separated leolab binaries that serve the page, in turn (default: -leolab)")
	name := flag.String("name", "wuibench", "the lab's name")
	nodes := flag.Int("nodes", 1000, "nodes in the lab")
	loads := flag.Int("loads", 1, "page loads per server start")
	rounds := flag.Int("rounds", 1, "server starts per -ui binary")
	idle := flag.Duration("idle", 30*time.Second, "how long to measure the server with the page open")
	existing := flag.String("root", "", "a root where the lab is deployed already (neither deployed nor destroyed here)")
	flag.Parse()
	servers := []string{*bin}
	if *uis != "" {
		servers = strings.Split(*uis, ",")
	}
	root := *existing
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "leolab-uibench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(root)
		defer deploy(*bin, root, *name, *nodes)()
	}

	res := map[string]*results{}
	for r := 0; r < *rounds; r++ {
		for _, s := range servers {
			if res[s] == nil {
				res[s] = &results{}
			}
			measureServer(s, root, *nodes, *loads, *idle, res[s])
		}
	}
	if *loads**rounds > 1 || len(servers) > 1 {
		for _, s := range servers {
			res[s].print(s)
		}
	}
}

// deploy deploys the lab under root and returns what destroys it.
func deploy(bin, root, name string, nodes int) func() {
	file := filepath.Join(root, "lab.yaml")
	if err := os.WriteFile(file, []byte(labFile(name, nodes)), 0o644); err != nil {
		log.Fatal(err)
	}
	run := func(args ...string) {
		cmd := exec.Command(bin, append([]string{"--root", root, "-q"}, args...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("leolab %v: %v", args, err)
		}
	}
	t0 := time.Now()
	run("deploy", file)
	fmt.Printf("deploy of %d nodes: %.1f s\n", nodes, time.Since(t0).Seconds())
	return func() { run("destroy", "--lab", name) }
}

// results gathers one server's figures over its page loads.
type results struct{ drawn, ready, listed, cpu []float64 }

func (r *results) print(server string) {
	fmt.Printf("%s: %d loads, %d idle measures\n", server, len(r.ready), len(r.cpu))
	fmt.Printf("  topology drawn s:          %s\n", minMed(r.drawn))
	fmt.Printf("  side panel listed s:       %s\n", minMed(r.listed))
	fmt.Printf("  all nodes drawn+running s: %s\n", minMed(r.ready))
	fmt.Printf("  idle CPU %% of one core:    %s\n", minMed(r.cpu))
}

func minMed(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("min %.2f  median %.2f  max %.2f  (%v)", s[0], s[len(s)/2], s[len(s)-1], fmtAll(v))
}

func fmtAll(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(out, " ")
}

// measureServer starts `leolab ui` from bin, opens its page loads times,
// then measures its CPU use with the page open.
func measureServer(bin, root string, nodes, loads int, idle time.Duration, res *results) {
	ui := exec.Command(bin, "--root", root, "ui", "--listen", "127.0.0.1:0")
	out, _ := ui.StdoutPipe()
	if err := ui.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { ui.Process.Signal(os.Interrupt); ui.Wait() }()
	line, _ := bufio.NewReader(out).ReadString('\n')
	url := regexp.MustCompile(`http://\S+`).FindString(line)
	var cancel context.CancelFunc
	for i := 0; i < loads; i++ {
		if cancel != nil {
			cancel() // the previous page's stream closes
		}
		// A fresh browser and profile each time: a first visit, nothing
		// cached, no positions saved.
		var ctx context.Context
		ctx, cancel = browser(root)
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
			log.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		loadPage(ctx, url, nodes, res)
	}
	defer cancel()
	time.Sleep(2 * time.Second) // past the first layout
	c0, w0 := cpuTicks(ui.Process.Pid), time.Now()
	time.Sleep(idle)
	c1, w1 := cpuTicks(ui.Process.Pid), time.Now()
	pct := float64(c1-c0) / 100 / w1.Sub(w0).Seconds() * 100 // USER_HZ is 100
	res.cpu = append(res.cpu, pct)
	fmt.Printf("%s: leolab ui CPU with one page open, over %s: %.2f %% of one core\n", bin, idle, pct)
}

func loadPage(ctx context.Context, url string, nodes int, res *results) {
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		log.Fatal(err)
	}
	for {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.labs || ''`))
		if got != "" || time.Since(start) > 2*time.Minute {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("topology drawn: %.2f s after navigation\n", time.Since(start).Seconds())
	tm, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(leolab.timing)`))
	fmt.Printf("page timing (ms since navigation: script ran; topology received, drawn, listed): %s\n", tm)
	want := strconv.Itoa(nodes)
	expr := `String(document.querySelectorAll('li[data-node] .state.running').length === leolab.cy.nodes('.node').length ? leolab.cy.nodes('.node').length : -1)`
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err == nil && got == want {
			break
		}
		if time.Since(start) > 2*time.Minute {
			log.Fatalf("page never showed %s running nodes (last %q, %v)", want, got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ready := time.Since(start).Seconds()
	fmt.Printf("page drawn and listing %d running nodes: %.2f s after navigation\n", nodes, ready)
	res.ready = append(res.ready, ready)
	t, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Topology []float64 `json:"topology"`
	}](`leolab.timing`))
	if err == nil && len(t.Topology) == 3 {
		res.drawn = append(res.drawn, t.Topology[1]/1000)
		res.listed = append(res.listed, t.Topology[2]/1000)
	}
}

// labFile is a lab of n busybox nodes, 200 to a bridge.
func labFile(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nipv4_pool: 172.29.0.0/16\nbridges:\n", name)
	for i := 0; i < (n+199)/200; i++ {
		fmt.Fprintf(&b, "  lan%d: {}\n", i)
	}
	b.WriteString("nodes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  n%d: {interfaces: {eth0: lan%d}}\n", i, i/200)
	}
	return b.String()
}

func browser(root string) (context.Context, context.CancelFunc) {
	profile, err := os.MkdirTemp(root, "chromium")
	if err != nil {
		log.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 900),
	}
	actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, c2 := chromedp.NewContext(actx)
	return ctx, func() { c2(); c1(); os.RemoveAll(profile) }
}

// cpuTicks is a process's user+system time in clock ticks.
func cpuTicks(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s
}
