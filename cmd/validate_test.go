package cmd

import (
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
