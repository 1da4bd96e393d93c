package topology

import (
	"fmt"
	"strings"
	"testing"
)

// bigLab is n nodes spread over n/250+1 bridges and chained by n-1 links.
func bigLab(n int) []byte {
	var b strings.Builder
	b.WriteString("name: big\nbridges:\n")
	bridges := n/250 + 1
	for i := 0; i < bridges; i++ {
		fmt.Fprintf(&b, "  lan%d: {}\n", i)
	}
	b.WriteString("nodes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  n%d: {interfaces: {eth0: lan%d}}\n", i, i%bridges)
	}
	b.WriteString("links:\n")
	for i := 0; i+1 < n; i++ {
		fmt.Fprintf(&b, "  - endpoints: [n%d:right, n%d:left]\n", i, i+1)
	}
	return []byte(b.String())
}

func BenchmarkParse1000Nodes(b *testing.B) {
	benchParse(b, "big.yaml", bigLab(1000))
}

// benchParse measures Parse of data as file.
func benchParse(b *testing.B, file string, data []byte) {
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(file, data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBigLab(t *testing.T) {
	p := mustParse(t, string(bigLab(1000)), Options{})
	if len(p.Nodes) != 1000 || len(p.Links) != 999 || len(p.Bridges) != 5 {
		t.Fatalf("%d nodes %d links %d bridges", len(p.Nodes), len(p.Links), len(p.Bridges))
	}
	if last := p.Links[998].Subnet.String(); last != "172.20.255.152/30" {
		t.Errorf("last link subnet %s", last)
	}
}
