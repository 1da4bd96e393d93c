package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"leolab/internal/nstest"
	"leolab/labs"
	"leolab/node"
)

func TestMain(m *testing.M) {
	node.MaybeRunInit() // nodes' inits are this test binary re-executed
	os.Exit(m.Run())
}

// stamps timestamps progress lines so the profile comes with a timeline.
type stamps struct {
	mu    sync.Mutex
	start time.Time
	last  map[string]time.Duration // last time each kind of line was seen
}

func (s *stamps) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind := "other"
	for _, k := range []string{"started", "ready"} {
		if len(p) > len(k) && string(p[len(p)-len(k)-1:len(p)-1]) == k {
			kind = k
		}
	}
	s.last[kind] = time.Since(s.start)
	return len(p), nil
}

// TestProfileDeploy deploys and destroys an N-node one-bridge lab
// (LEOLAB_PROFILE_N, default 1000) in-process with a CPU profile written to
// LEOLAB_PROFILE_OUT (default: none). It only runs when LEOLAB_PROFILE_N is
// set, as root. It reports timings; it asserts nothing about them.
func TestProfileDeploy(t *testing.T) {
	nstr := os.Getenv("LEOLAB_PROFILE_N")
	if nstr == "" {
		t.Skip("set LEOLAB_PROFILE_N to profile a deploy")
	}
	nstest.RequireRoot(t)
	n, err := strconv.Atoi(nstr)
	if err != nil || n < 1 {
		t.Fatalf("LEOLAB_PROFILE_N=%q: want a positive number", nstr)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	lab := "prof" + nstr
	if err := os.WriteFile(file, []byte(StarTopology(lab, n)), 0o644); err != nil {
		t.Fatal(err)
	}
	progress := &stamps{last: map[string]time.Duration{}}
	m := &labs.Manager{Root: filepath.Join(dir, "root"), Quiet: false, Progress: progress}
	stop := startProfile(t, os.Getenv("LEOLAB_PROFILE_OUT"))
	defer stop()
	progress.start = time.Now()
	_, err = m.Deploy(context.Background(), file, labs.DeployOptions{})
	deploy := time.Since(progress.start)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	t0 := time.Now()
	if err := m.Destroy(lab); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	t.Logf("N=%d deploy %v (last node started at %v, last ready at %v), destroy %v",
		n, deploy, progress.last["started"], progress.last["ready"], time.Since(t0))
}

func startProfile(t *testing.T, out string) func() {
	if out == "" {
		return func() {}
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
}

// StarTopology is an n-node lab on one bridge, every node with one interface.
func StarTopology(lab string, n int) string {
	var b []byte
	b = fmt.Appendf(b, "name: %s\nipv4_pool: 172.29.0.0/16\nbridges:\n  lan: {subnet: %s}\nnodes:\n", lab, starSubnet(n))
	for i := 1; i <= n; i++ {
		b = fmt.Appendf(b, "  n%d: {interfaces: {eth0: lan}}\n", i)
	}
	return string(b)
}

// starSubnet is big enough for n nodes plus the gateway.
func starSubnet(n int) string {
	bits := 24
	for (1<<(32-bits))-3 < n {
		bits--
	}
	return fmt.Sprintf("172.29.0.0/%d", bits)
}
