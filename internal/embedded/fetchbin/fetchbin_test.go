package fetchbin

import (
	"os/exec"
	"strings"
	"testing"
)

// The fetcher exists so that leolab itself never links go-containerregistry
// (whose initialisers every command would pay for): the leolab main package
// must not depend on it. net/http is linked since `leolab ui` serves its page,
// but only the ui's own package may bring it in: no other package of leolab
// (topology, labs, node, …) depends on it, and exec's fast path exits before
// any of its initialisers run (e2e's TestExecFastPathSkipsTheCLI).
func TestLeolabLinksNoFetcherDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	out, err := exec.Command("go", "list", "-deps", "leolab").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/google/go-containerregistry/") {
			t.Errorf("leolab depends on %s", pkg)
		}
	}
	pkgs, err := exec.Command("go", "list", "leolab/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(pkgs)) {
		switch {
		case pkg == "leolab" || pkg == "leolab/cmd" || pkg == "leolab/webui" || pkg == "leolab/cmd/leolab-genman",
			strings.HasPrefix(pkg, "leolab/bench/"), pkg == "leolab/cmd/leolab-fetch",
			strings.HasPrefix(pkg, "leolab/rootfs/ocifetch"), pkg == "leolab/e2e":
			continue // the ui, what links it (the CLI, its man pages), the fetcher, benchmarks, tests
		}
		deps, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if d == "net/http" {
				t.Errorf("%s depends on net/http: only leolab/webui may", pkg)
			}
		}
	}
}
