//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestTenLabsInParallelRepeatedly deploys ten different labs at once, twice
// over: no collisions of subnets or devices, every lab works, all destroyed.
func TestTenLabsInParallelRepeatedly(t *testing.T) {
	e := newEnv(t)
	var topos []string
	for i := 0; i < 10; i++ {
		topos = append(topos, e.writeTopo(fmt.Sprintf("p%d.yaml", i), labOf(fmt.Sprintf("rlpar%d", i), 2)))
	}
	for round := 0; round < 2; round++ {
		parallel(len(topos), func(i int) {
			if r := e.run("-q", "deploy", topos[i]); r.code != 0 {
				t.Errorf("round %d: deploy %d: %s", round, i, r.stderr)
			}
		})
		var all []struct {
			Name    string
			Bridges []struct{ Subnet, Device string }
		}
		json.Unmarshal([]byte(e.must("inspect", "--all", "--format", "json")), &all)
		seen := map[string]string{}
		for _, l := range all {
			for _, b := range l.Bridges {
				for _, k := range []string{b.Subnet, b.Device} {
					if other, dup := seen[k]; dup {
						t.Errorf("labs %s and %s share %s", other, l.Name, k)
					}
					seen[k] = l.Name
				}
			}
		}
		parallel(len(topos), func(i int) {
			if r := e.run("exec", fmt.Sprintf("rlpar%d/n0", i), "--", "ping", "-c1", "-W2", "n1"); r.code != 0 {
				t.Errorf("round %d: ping in lab %d: %s%s", round, i, r.stdout, r.stderr)
			}
		})
		parallel(len(topos), func(i int) {
			if r := e.run("destroy", topos[i]); r.code != 0 {
				t.Errorf("round %d: destroy %d: %s", round, i, r.stderr)
			}
		})
	}
}

func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); fn(i) }()
	}
	wg.Wait()
}

// TestDeployRacingDestroy starts a destroy while a deploy of the same lab
// runs. Whichever order the lock gives, the outcome is consistent: deploy
// failed fast as locked, or destroy ran first (nothing to do) and the lab
// runs, or destroy waited for the deploy and the lab is gone; a lab that
// exists answers exec, and a final destroy always returns the host to its
// snapshot.
func TestDeployRacingDestroy(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("race.yaml", labOf("rlrace", 10))
	for i := 0; i < 3; i++ {
		var dep, des result
		parallel(2, func(j int) {
			if j == 0 {
				dep = e.run("-q", "deploy", topo)
			} else {
				des = e.run("destroy", "--lab", "rlrace")
			}
		})
		if des.code != 0 && !strings.Contains(des.stderr, "locked") {
			t.Errorf("destroy lost the race for another reason: exit %d %s", des.code, des.stderr)
		}
		if dep.code != 0 && !strings.Contains(dep.stderr, "locked") {
			t.Errorf("deploy lost the race for another reason: exit %d %s", dep.code, dep.stderr)
		}
		_, err := os.Stat(filepath.Join(e.root, "labs", "rlrace", "state.json"))
		if dep.code == 0 && err == nil {
			e.must("exec", "rlrace/n0", "--", "true")
		}
		if des.code != 0 && dep.code == 0 && err != nil {
			t.Errorf("destroy failed and the deployed lab is gone (%v)", err)
		}
		e.must("destroy", "--lab", "rlrace")
	}
}

// TestSIGKILLedLockHolderReleasesLock: a deploy killed while holding the
// lab's lock (stopped first, so it surely holds it) frees the lock with
// its death: the next destroy proceeds instead of reporting "locked".
func TestSIGKILLedLockHolderReleasesLock(t *testing.T) {
	e := newEnv(t)
	topo := e.writeTopo("held.yaml", labOf("rlheld", 20))
	cmd := exec.Command(binary, "--root", e.root, "deploy", topo)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deploy to start nodes", deployWait, func() bool { return strings.Contains(stderr.String(), "started") })
	cmd.Process.Signal(syscall.SIGSTOP)
	if r := e.run("destroy", "--lab", "rlheld"); r.code == 0 || !strings.Contains(r.stderr, "locked") {
		t.Errorf("destroy while the holder lives: exit %d, want locked: %s", r.code, r.stderr)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	e.must("destroy", "--lab", "rlheld")
	if _, err := os.Stat(filepath.Join(e.root, "locks", "rlheld.lock")); !os.IsNotExist(err) {
		t.Errorf("lock file outlives the lab (%v)", err)
	}
}
