package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// references are process start-up costs measured in the same run as
// leolab, so `exec` latency can be compared across machines: issue 7's
// table gives `unshare -uipmfn --mount-proc true` as 1.3 ms on its
// reference machine, next to the 20 ms exec target.
type references struct {
	TrueMs    float64 `json:"bin_true_ms"`
	EmptyGoMs float64 `json:"empty_go_ms"`
	UnshareMs float64 `json:"unshare_true_ms"`
}

// issueUnshareMs is the issue's reference figure for unshare ... true, and
// issueExecTargetMs its exec target, both on the issue's machine.
const (
	issueUnshareMs    = 1.3
	issueExecTargetMs = 20.0
)

func measureReferences(c config, runs int) (references, error) {
	var r references
	var err error
	if r.TrueMs, err = spawnMedian(runs, "/bin/true"); err != nil {
		return r, err
	}
	noop, err := buildEmptyGo(c.work)
	if err != nil {
		return r, err
	}
	if r.EmptyGoMs, err = spawnMedian(runs, noop); err != nil {
		return r, err
	}
	r.UnshareMs, err = spawnMedian(runs, "unshare", "-uipmfn", "--mount-proc", "true")
	return r, err
}

// buildEmptyGo compiles `func main() {}` the way leolab is built (static).
func buildEmptyGo(work string) (string, error) {
	dir := filepath.Join(work, "emptygo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{"go.mod": "module emptygo\n\ngo 1.26\n", "main.go": "package main\n\nfunc main() {}\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(dir, "emptygo")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build empty Go program: %w: %s", err, tail(out))
	}
	return bin, nil
}

// spawnMedian is the median wall time of running prog to completion.
func spawnMedian(runs int, prog string, args ...string) (float64, error) {
	var ms []float64
	for i := 0; i < runs; i++ {
		cmd := exec.Command(prog, args...)
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%s: %w: %s", prog, err, tail(out))
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	sort.Float64s(ms)
	return ms[len(ms)/2], nil
}

func printReferences(w io.Writer, ref references, rs []result) {
	fmt.Fprintf(w, "process start, same run (median): /bin/true %.1f ms, empty static Go program %.1f ms, "+
		"unshare -uipmfn --mount-proc true %.1f ms (issue 7's machine: %.1f ms)\n",
		ref.TrueMs, ref.EmptyGoMs, ref.UnshareMs, issueUnshareMs)
	if ref.UnshareMs <= 0 {
		return
	}
	scale := ref.UnshareMs / issueUnshareMs
	fmt.Fprintf(w, "this machine starts namespaced processes %.1f× slower than issue 7's (scaled by that ratio, its %.0f ms exec target would be %.0f ms here)\n",
		scale, issueExecTargetMs, issueExecTargetMs*scale)
	for _, r := range rs {
		fmt.Fprintf(w, "exec at N=%d: %.1f ms = %.1f× unshare-true, %.1f× an empty Go program\n",
			r.N, r.ExecMedianMs, r.ExecMedianMs/ref.UnshareMs, r.ExecMedianMs/ref.EmptyGoMs)
	}
}
