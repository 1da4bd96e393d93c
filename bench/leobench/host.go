package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"leolab/internal/hostnames"
	"leolab/node"
)

// starTopology is an n-node lab on one bridge, every node with one interface.
func starTopology(lab string, n int) string {
	bits := 24
	for (1<<(32-bits))-3 < n {
		bits--
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nipv4_pool: 172.29.0.0/16\nbridges:\n  lan: {subnet: 172.29.0.0/%d}\nnodes:\n", lab, bits)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  n%d: {interfaces: {eth0: lan}}\n", i)
	}
	return b.String()
}

// ringTopology is n nodes, each linked to the next and the one after
// (2n point-to-point links, no bridge).
func ringTopology(lab string, n int) (string, int) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nipv4_pool: 172.29.0.0/16\nnodes:\n", lab)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	b.WriteString("links:\n")
	links := 0
	for i := 1; i <= n; i++ {
		for hop := 1; hop <= 2; hop++ {
			j := (i+hop-1)%n + 1
			fmt.Fprintf(&b, "  - endpoints: [n%d:a%d, n%d:b%d]\n", i, hop, j, hop)
			links++
		}
	}
	return b.String(), links
}

// initsOf lists the pids of lab's node inits (argv: leolab-init LAB NODE).
func initsOf(lab string) []int {
	var out []int
	for _, p := range node.FindInits() {
		if p.Lab == lab || lab == "" && strings.HasPrefix(p.Lab, "bench") {
			out = append(out, p.PID)
		}
	}
	return out
}

// nodeMemory is the mean PSS and RSS per node in KiB, each node summed
// over its init and every descendant.
func nodeMemory(lab string, n int) (pss, rss float64, err error) {
	inits := initsOf(lab)
	if len(inits) != n {
		return 0, 0, fmt.Errorf("found %d inits of %s, want %d", len(inits), lab, n)
	}
	var sumP, sumR float64
	for _, pid := range inits {
		for _, p := range tree(pid) {
			ps, rs := rollup(p)
			sumP += ps
			sumR += rs
		}
	}
	return sumP / float64(n), sumR / float64(n), nil
}

// tree is pid and all its descendants.
func tree(pid int) []int {
	out := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, tree(c)...)
			}
		}
	}
	return out
}

// rollup reads Pss and Rss (KiB) of one process.
func rollup(pid int) (pss, rss float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "Pss:":
			pss = v
		case "Rss:":
			rss = v
		}
	}
	return pss, rss
}

// checkClean fails if anything of the benchmark is left on the host: lab's
// inits, netns and aliased links (lab "" checks every bench lab), the raw
// baseline's lbraw* devices and namespaces, Mininet's s1 switch.
func checkClean(lab string) error {
	var left []string
	if pids := initsOf(lab); len(pids) > 0 {
		left = append(left, fmt.Sprintf("%d inits", len(pids)))
	}
	nsPrefix := []string{"lbraw-"}
	if lab != "" {
		nsPrefix = append(nsPrefix, lab+"-")
	}
	entries, _ := os.ReadDir(hostnames.NetnsDir)
	for _, e := range entries {
		for _, p := range nsPrefix {
			if strings.HasPrefix(e.Name(), p) {
				left = append(left, "netns "+e.Name())
			}
		}
	}
	links, _ := os.ReadDir("/sys/class/net")
	for _, l := range links {
		name := l.Name()
		alias, _ := os.ReadFile(filepath.Join("/sys/class/net", name, "ifalias"))
		switch {
		case strings.HasPrefix(name, "lbraw"), name == "s1", strings.HasPrefix(name, "s1-eth"):
			left = append(left, "link "+name)
		case lab != "" && strings.HasPrefix(string(alias), hostnames.AliasPrefix(lab)):
			left = append(left, "link "+name)
		}
	}
	if len(left) > 0 {
		if len(left) > 10 {
			left = append(left[:10], fmt.Sprintf("… %d more", len(left)-10))
		}
		return fmt.Errorf("left on the host: %s", strings.Join(left, ", "))
	}
	return nil
}

func firstLine(path string) string {
	b, _ := os.ReadFile(path)
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func cpus() int { return runtime.NumCPU() }

func ulimitN() string {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "?"
	}
	return fmt.Sprintf("%d/%d", l.Cur, l.Max)
}

// settle waits until the host's CPUs are at least 90 % idle over half a
// second (at most limit): right after a deploy the host is still busy
// (deferred work of new namespaces and interfaces, the baselines' IPv6
// chatter: leolab's links have no automatic IPv6), and exec latency and
// memory are measured for a lab at rest.
func settle(limit time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < limit {
		busy0, total0 := cpuTimes()
		time.Sleep(500 * time.Millisecond)
		busy1, total1 := cpuTimes()
		if total1 > total0 && float64(busy1-busy0)/float64(total1-total0) < 0.10 {
			break
		}
	}
	return time.Since(start)
}

// cpuTimes is the busy and total jiffies of /proc/stat's cpu line.
func cpuTimes() (busy, total uint64) {
	f := strings.Fields(firstLine("/proc/stat"))
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
