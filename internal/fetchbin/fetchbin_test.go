package fetchbin

import (
	"os/exec"
	"strings"
	"testing"
)

// The fetcher exists so that leolab itself links neither
// go-containerregistry nor net/http (whose initialisers every command would
// pay for): the leolab main package must not depend on them.
func TestLeolabLinksNoFetcherDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	out, err := exec.Command("go", "list", "-deps", "leolab").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/google/go-containerregistry/") || pkg == "net/http" {
			t.Errorf("leolab depends on %s", pkg)
		}
	}
}
