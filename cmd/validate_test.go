package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestValidateIsolatedShowsNoNAT: `validate --isolated` plans the lab as
// `deploy --isolated` builds it: containerlab's management bridge without
// NAT, and the plan says the bridges stay off the host (issue 14 item 16).
func TestValidateIsolatedShowsNoNAT(t *testing.T) {
	const file = "../topology/testdata/clab/routers.clab.yml"
	mgmtNAT := regexp.MustCompile(`(?m)^mgmt +\S+ +\S+ +\S+ +(true|false) `)
	for _, c := range []struct {
		args     []string
		nat      string
		isolated bool
	}{
		{nil, "true", false},
		{[]string{"--isolated"}, "false", true},
	} {
		out, stderr, code := run(t, append(append([]string{"validate"}, c.args...), file)...)
		if code != 0 {
			t.Fatalf("validate %v: exit %d: %s", c.args, code, stderr)
		}
		m := mgmtNAT.FindStringSubmatch(out)
		if m == nil || m[1] != c.nat {
			t.Errorf("validate %v: mgmt bridge row %q, want NAT %s\n%s", c.args, m, c.nat, out)
		}
		if got := strings.Contains(out, "isolated:"); got != c.isolated {
			t.Errorf("validate %v: says isolated %v, want %v\n%s", c.args, got, c.isolated, out)
		}
	}
	out, _, code := run(t, "validate", "--isolated", "--format", "json", file)
	if code != 0 || !strings.Contains(out, `"isolated": true`) || strings.Contains(out, `"nat": true`) {
		t.Errorf("validate --isolated --format json: exit %d\n%s", code, out)
	}
}

// TestValidateWarnsOfCrossHostMTU: a segment across hosts with an mtu over
// underlay-50 validates, with a warning naming its line (issue 20).
func TestValidateWarnsOfCrossHostMTU(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mh.yaml")
	src := "name: mhv\nhosts:\n  a: {address: 10.0.0.1}\n  b: {address: 10.0.0.2}\nbridges:\n  lan: {mtu: 1500}\nnodes:\n  x: {interfaces: {eth0: lan}}\n  y: {host: b, interfaces: {eth0: lan}}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "validate", file)
	if !strings.Contains(out, "host b (10.0.0.2, udp 4789): y") || !strings.Contains(out, "bridge lan on hosts a b (gateway on a)") {
		t.Errorf("validate does not show the hosts and their segments:\n%s", out)
	}
	if code != 0 || !strings.Contains(stderr, "mh.yaml:6:") || !strings.Contains(stderr, "bridge lan spans hosts: mtu 1500 is more than 1450") {
		t.Errorf("validate: exit %d, stderr %q", code, stderr)
	}
}
