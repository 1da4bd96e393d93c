// Command leobench is `make bench`: it deploys and destroys leolab labs of N
// busybox nodes on one bridge, measures exec latency and the memory of idle
// nodes, runs bench/raw-baseline.sh and bench/mininet-baseline.py at the same
// N in the same run, prints one table with ratios and writes a JSON record
// and an SVG plot of seconds per node against N. It checks after every run
// that nothing was left on the host, and stops at the first leftover.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// result is everything measured at one N.
type result struct {
	N            int     `json:"n"`
	Deploy       float64 `json:"deploy_s"`
	Destroy      float64 `json:"destroy_s"`
	ExecMedianMs float64 `json:"exec_median_ms"`
	PSSKiB       float64 `json:"pss_kib_per_node"`
	RSSKiB       float64 `json:"rss_kib_per_node"`
	RawUp        float64 `json:"raw_up_s"`
	RawDown      float64 `json:"raw_down_s"`
	MnUp         float64 `json:"mininet_up_s,omitempty"`
	MnDown       float64 `json:"mininet_down_s,omitempty"`
	MnNote       string  `json:"mininet_note,omitempty"`
}

// chainResult is the 500-node / 1000-link ring lab.
type chainResult struct {
	Nodes, Links    int
	Deploy, Destroy float64
}

type config struct {
	leolab, benchDir, work string
	sizes                  []int
	mininetMax, execRuns   int
	chain                  int
	imageMiB, imageNodes   int
	out                    string
}

func main() {
	var c config
	var sizes string
	flag.StringVar(&c.leolab, "leolab", "bin/leolab", "leolab binary")
	flag.StringVar(&c.benchDir, "bench", "bench", "directory holding the baseline scripts")
	flag.StringVar(&sizes, "sizes", "10,100,500,1000", "lab sizes N")
	flag.IntVar(&c.mininetMax, "mininet-max", 100, "largest N Mininet runs at (it is slow; 0 = never)")
	flag.IntVar(&c.execRuns, "exec-runs", 21, "exec calls per N for the median")
	flag.IntVar(&c.chain, "chain", 500, "nodes of the ring lab with 2 links per node (0 = skip)")
	flag.IntVar(&c.imageMiB, "image-mib", 200, "size of the tarball of the image-preparation run (0 = skip)")
	flag.IntVar(&c.imageNodes, "image-nodes", 100, "nodes of the image-preparation run")
	flag.StringVar(&c.out, "out", "bench/out", "directory for results.json and seconds-per-node.svg")
	flag.Parse()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-sizes: bad size %q", s))
		}
		c.sizes = append(c.sizes, n)
	}
	if os.Geteuid() != 0 {
		fatal(errors.New("leobench needs root"))
	}
	if err := run(c); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "leobench:", err)
	os.Exit(1)
}

func run(c config) error {
	var err error
	if c.leolab, err = filepath.Abs(c.leolab); err != nil {
		return err
	}
	if c.work, err = os.MkdirTemp("", "leobench-"); err != nil {
		return err
	}
	defer os.RemoveAll(c.work)
	if err := checkClean(""); err != nil {
		return fmt.Errorf("host not clean before the benchmark: %w", err)
	}
	printLimits()
	ref, err := measureReferences(c, 41)
	if err != nil {
		return fmt.Errorf("process start references: %w", err)
	}
	var results []result
	for _, n := range c.sizes {
		r, err := measure(c, n)
		if err != nil {
			return fmt.Errorf("N=%d: %w", n, err)
		}
		results = append(results, r)
	}
	var chain *chainResult
	if c.chain > 0 {
		if chain, err = measureChain(c); err != nil {
			return fmt.Errorf("chain lab: %w", err)
		}
	}
	var img *imageResult
	if c.imageMiB > 0 {
		if img, err = measureImage(c, c.imageNodes, c.imageMiB, busyboxDeploy(results, c.imageNodes)); err != nil {
			return fmt.Errorf("image preparation: %w", err)
		}
	}
	printTable(os.Stdout, results, chain)
	printReferences(os.Stdout, ref, results)
	if img != nil {
		printImage(os.Stdout, img)
	}
	return writeOutputs(c.out, results, chain, ref, img)
}

func printLimits() {
	fmt.Printf("machine: %s, %d CPUs; ulimit -n %s; pid_max %s; threads-max %s\n",
		firstLine("/proc/version"), cpus(), ulimitN(), firstLine("/proc/sys/kernel/pid_max"),
		firstLine("/proc/sys/kernel/threads-max"))
}

func measure(c config, n int) (result, error) {
	r := result{N: n}
	var err error
	fmt.Fprintf(os.Stderr, "N=%d: raw baseline\n", n)
	if r.RawUp, r.RawDown, err = upDown(20*time.Minute, filepath.Join(c.benchDir, "raw-baseline.sh"), strconv.Itoa(n)); err != nil {
		return r, fmt.Errorf("raw baseline: %w", err)
	}
	if err := checkClean(""); err != nil {
		return r, fmt.Errorf("after raw baseline: %w", err)
	}
	if n <= c.mininetMax {
		fmt.Fprintf(os.Stderr, "N=%d: mininet\n", n)
		r.MnUp, r.MnDown, err = upDown(20*time.Minute, filepath.Join(c.benchDir, "mininet-baseline.py"), strconv.Itoa(n))
		if err != nil {
			r.MnNote = "unavailable: " + err.Error()
		}
	} else {
		r.MnNote = fmt.Sprintf("skipped above N=%d (-mininet-max) to keep the run short", c.mininetMax)
	}
	fmt.Fprintf(os.Stderr, "N=%d: leolab\n", n)
	return r, measureLeolab(c, n, &r)
}

func measureLeolab(c config, n int, r *result) error {
	lab := fmt.Sprintf("bench%d", n)
	file := filepath.Join(c.work, lab+".yaml")
	if err := os.WriteFile(file, []byte(starTopology(lab, n)), 0o644); err != nil {
		return err
	}
	root := filepath.Join(c.work, "root")
	var err error
	if r.Deploy, err = timed(c, root, "deploy", "-q", file); err != nil {
		timed(c, root, "destroy", "--lab", lab)
		return err
	}
	fmt.Fprintf(os.Stderr, "N=%d: settled after %.1f s\n", n, settle(30*time.Second).Seconds())
	r.ExecMedianMs, err = execMedian(c, root, lab, c.execRuns)
	if err == nil {
		r.PSSKiB, r.RSSKiB, err = nodeMemory(lab, n)
	}
	var derr error
	r.Destroy, derr = timed(c, root, "destroy", "--lab", lab)
	if err := multierror.Append(err, derr).ErrorOrNil(); err != nil {
		return err
	}
	return checkClean(lab)
}

func measureChain(c config) (*chainResult, error) {
	lab := fmt.Sprintf("ring%d", c.chain)
	file := filepath.Join(c.work, lab+".yaml")
	topo, links := ringTopology(lab, c.chain)
	if err := os.WriteFile(file, []byte(topo), 0o644); err != nil {
		return nil, err
	}
	root := filepath.Join(c.work, "root")
	fmt.Fprintf(os.Stderr, "ring lab: %d nodes, %d links\n", c.chain, links)
	r := &chainResult{Nodes: c.chain, Links: links}
	var err error
	if r.Deploy, err = timed(c, root, "deploy", "-q", file); err != nil {
		timed(c, root, "destroy", "--lab", lab)
		return nil, err
	}
	if r.Destroy, err = timed(c, root, "destroy", "--lab", lab); err != nil {
		return nil, err
	}
	return r, checkClean(lab)
}

// timed runs one leolab command and returns its wall time in seconds.
func timed(c config, root string, args ...string) (float64, error) {
	cmd := exec.Command(c.leolab, args...)
	cmd.Env = append(os.Environ(), "LEOLAB_ROOT="+root)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0).Seconds()
	if err != nil {
		return d, fmt.Errorf("leolab %s: %w: %s", strings.Join(args, " "), err, tail(out))
	}
	return d, nil
}

func execMedian(c config, root, lab string, runs int) (float64, error) {
	var ms []float64
	for i := 0; i < runs; i++ {
		// The form: a bare node name, found among all labs.
		d, err := timed(c, root, "exec", "n1", "--", "true")
		if err != nil {
			return 0, err
		}
		ms = append(ms, d*1000)
	}
	sort.Float64s(ms)
	return ms[len(ms)/2], nil
}

// upDown runs a baseline script that prints "up S" and "down S".
func upDown(limit time.Duration, prog string, args ...string) (up, down float64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, 0, fmt.Errorf("%s: %w: %s", filepath.Base(prog), err, tail(ee.Stderr))
		}
		return 0, 0, fmt.Errorf("%s: %w", filepath.Base(prog), err)
	}
	vals := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				vals[f[0]] = v
			}
		}
	}
	up, okUp := vals["up"]
	down, okDown := vals["down"]
	if !okUp || !okDown {
		return 0, 0, fmt.Errorf("%s printed no up/down times: %s", filepath.Base(prog), tail(out))
	}
	return up, down, nil
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// busyboxDeploy is the deploy time at N = n from the main table, or 0.
func busyboxDeploy(rs []result, n int) float64 {
	for _, r := range rs {
		if r.N == n {
			return r.Deploy
		}
	}
	return 0
}

func writeOutputs(dir string, results []result, chain *chainResult, ref references, img *imageResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rec := struct {
		Date    string       `json:"date"`
		Machine string       `json:"machine"`
		CPUs    int          `json:"cpus"`
		Results []result     `json:"results"`
		Chain   *chainResult `json:"ring,omitempty"`
		Ref     references   `json:"process_start"`
		Image   *imageResult `json:"image,omitempty"`
	}{time.Now().UTC().Format(time.RFC3339), firstLine("/proc/version"), cpus(), results, chain, ref, img}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	svg := plotSVG(results)
	return os.WriteFile(filepath.Join(dir, "seconds-per-node.svg"), []byte(svg), 0o644)
}
