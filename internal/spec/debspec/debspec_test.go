package debspec

import (
	"strings"
	"testing"
)

// TestParse: one image has one name, whatever the order or repetition of
// its packages; names with "+" use the "," form.
func TestParse(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"debian:bookworm", "debian:bookworm"},
		{"debian:bookworm+tcpdump+frr", "debian:bookworm+frr+tcpdump"},
		{"debian:bookworm+frr+tcpdump+frr", "debian:bookworm+frr+tcpdump"},
		{"debian:trixie,make,g++", "debian:trixie,g++,make"},
		{"debian:bookworm,frr", "debian:bookworm+frr"},
	} {
		sp, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := sp.String(); got != c.want {
			t.Errorf("Parse(%q) = %q, want %q", c.in, got, c.want)
		}
		again, err := Parse(sp.String())
		if err != nil || again.String() != sp.String() {
			t.Errorf("Parse(%q) does not read back: %v %v", sp.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"debian:", "no Debian suite"},
		{"debian:+frr", "no Debian suite"},
		{"debian:Bookworm", `Debian suite "Bookworm"`},
		{"debian:bookworm+", `"" is not a Debian package name`},
		{"debian:bookworm+FRR", `"FRR" is not a Debian package name`},
		{"debian:bookworm+f", `"f" is not a Debian package name`},
		{"debian:bookworm+frr;rm", `"frr;rm" is not a Debian package name`},
		{"debian:bookworm+-x", `"-x" is not a Debian package name`},
		{"ubuntu:jammy", "does not start with debian:"},
	} {
		_, err := Parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}
