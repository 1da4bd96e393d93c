package topology

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// netemValueCases are values for one netem key, and what both the file and
// `netem set` must make of them: the figure, or an error containing want.
var netemValueCases = []struct {
	key, value string
	delay      time.Duration
	loss       float64
	rate       uint64
	want       string // "" = accepted
}{
	{"rate", "10mbit", 0, 0, 10_000_000, ""},
	{"rate", "1tbit", 0, 0, 1_000_000_000_000, ""},
	{"rate", "8bit", 0, 0, 8, ""},
	{"rate", "2.5Mbit", 0, 0, 2_500_000, ""},
	{"rate", "1bit", 0, 0, 0, "outside 8bit..1000tbit"},
	{"rate", "infmbit", 0, 0, 0, "is not a rate like 10mbit"},
	{"rate", "nanmbit", 0, 0, 0, "is not a rate like 10mbit"},
	{"rate", "99999999999999999999999bit", 0, 0, 0, "outside 8bit..1000tbit"},
	{"rate", "1001tbit", 0, 0, 0, "outside 8bit..1000tbit"},
	{"rate", "-1mbit", 0, 0, 0, "is not a rate"},
	{"rate", "10mbps", 0, 0, 0, "is not a rate"},
	{"loss", "1%", 0, 1, 0, ""},
	{"loss", "0.5", 0, 0.5, 0, ""},
	{"loss", "100%", 0, 100, 0, ""},
	{"loss", "nan", 0, 0, 0, "is not a percentage"},
	{"loss", "NaN%", 0, 0, 0, "is not a percentage"},
	{"loss", "inf", 0, 0, 0, "outside 0..100%"},
	{"loss", "-1%", 0, 0, 0, "outside 0..100%"},
	{"loss", "101%", 0, 0, 0, "outside 0..100%"},
	{"delay", "20ms", 20 * time.Millisecond, 0, 0, ""},
	{"delay", "4m", 4 * time.Minute, 0, 0, ""},
	{"delay", "5m", 0, 0, 0, "longer than 4m0s"},
	{"delay", "-1ms", 0, 0, 0, "is not a duration"},
	{"delay", "20", 0, 0, 0, "is not a duration"},
}

// TestNetemValuesOneParser: the file's netem: keys and `netem set`'s flags
// take and refuse the same values, and refuse every value the kernel
// would (infinite, NaN, out of range, below tbf's one byte per second).
func TestNetemValuesOneParser(t *testing.T) {
	for _, c := range netemValueCases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			var f NetemFlags
			switch c.key {
			case "rate":
				f.Rate = c.value
			case "loss":
				f.Loss = c.value
			case "delay":
				f.Delay = c.value
			}
			n, err := ParseNetemFlags(f)
			check := func(from string, n *Netem, err error) {
				if c.want != "" {
					if err == nil || !strings.Contains(err.Error(), c.want) {
						t.Errorf("%s: err %v, want one containing %q", from, err, c.want)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", from, err)
				}
				got := Netem{}
				if n != nil {
					got = *n
				}
				if got != (Netem{Delay: c.delay, LossPct: c.loss, RateBits: c.rate}) {
					t.Errorf("%s: %+v", from, got)
				}
			}
			check("flags", n, err)
			if c.want != "" && err != nil && !strings.HasPrefix(err.Error(), "--"+c.key+" ") {
				t.Errorf("flags: %q does not name --%s", err, c.key)
			}

			src := fmt.Sprintf("name: nv\nnodes:\n  a: {}\n  b: {}\nlinks:\n  - endpoints: [a:eth1, b:eth1]\n    netem: {%s: %q}\n", c.key, c.value)
			errs := errorsOf(t, src, Options{})
			var fileErr error
			if len(errs) > 0 {
				fileErr = fmt.Errorf("%s", strings.Join(errs, "; "))
			}
			var fileNetem *Netem
			if fileErr == nil {
				p, err := Parse("t.yaml", []byte(src), Options{})
				if err != nil {
					t.Fatal(err)
				}
				fileNetem = p.Links[0].Netem
			}
			check("file", fileNetem, fileErr)
		})
	}
}

func TestNetemFlagsNeedOne(t *testing.T) {
	if _, err := ParseNetemFlags(NetemFlags{}); err == nil {
		t.Error("no flags accepted")
	}
	if _, err := ParseNetemFlags(NetemFlags{Jitter: "2ms"}); err == nil || !strings.Contains(err.Error(), "needs a --delay") {
		t.Errorf("jitter alone: %v", err)
	}
}
