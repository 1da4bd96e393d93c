// Command uibench measures leolab ui on a large lab (issue 18's scale
// goals): how long headless Chromium takes from opening the page to
// drawing and listing every node of an N-node lab with its live state, and
// the server's CPU use while that one page stays open. It deploys the lab
// under a root of its own, and destroys it at the end.
//
//	go run ./bench/uibench -leolab bin/leolab -nodes 1000
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
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	bin := flag.String("leolab", "bin/leolab", "leolab binary")
	nodes := flag.Int("nodes", 1000, "nodes in the lab")
	idle := flag.Duration("idle", 30*time.Second, "how long to measure the server with the page open")
	flag.Parse()
	root, err := os.MkdirTemp("", "leolab-uibench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	file := filepath.Join(root, "lab.yaml")
	if err := os.WriteFile(file, []byte(labFile(*nodes)), 0o644); err != nil {
		log.Fatal(err)
	}
	run := func(args ...string) {
		cmd := exec.Command(*bin, append([]string{"--root", root, "-q"}, args...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("leolab %v: %v", args, err)
		}
	}
	t0 := time.Now()
	run("deploy", file)
	fmt.Printf("deploy of %d nodes: %.1f s\n", *nodes, time.Since(t0).Seconds())
	defer run("destroy", "--lab", "wuibench")

	ui := exec.Command(*bin, "--root", root, "ui", "--listen", "127.0.0.1:0")
	out, _ := ui.StdoutPipe()
	if err := ui.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { ui.Process.Signal(os.Interrupt); ui.Wait() }()
	line, _ := bufio.NewReader(out).ReadString('\n')
	url := regexp.MustCompile(`http://\S+`).FindString(line)

	ctx, cancel := browser(root)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		log.Fatal(err)
	}
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
	want := strconv.Itoa(*nodes)
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
	fmt.Printf("page drawn and listing %d running nodes: %.2f s after navigation\n", *nodes, time.Since(start).Seconds())

	time.Sleep(2 * time.Second) // past the first layout
	c0, w0 := cpuTicks(ui.Process.Pid), time.Now()
	time.Sleep(*idle)
	c1, w1 := cpuTicks(ui.Process.Pid), time.Now()
	pct := float64(c1-c0) / 100 / w1.Sub(w0).Seconds() * 100 // USER_HZ is 100
	fmt.Printf("leolab ui CPU with one page open, over %s: %.2f %% of one core\n", *idle, pct)
}

// labFile is a lab of n busybox nodes, 200 to a bridge.
func labFile(n int) string {
	var b strings.Builder
	b.WriteString("name: wuibench\nipv4_pool: 172.29.0.0/16\nbridges:\n")
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
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"), chromedp.UserDataDir(filepath.Join(root, "chromium")),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 900),
	}
	actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, c2 := chromedp.NewContext(actx)
	return ctx, func() { c2(); c1() }
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
