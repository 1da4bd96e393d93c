package topology

import (
	"fmt"
	"strings"
	"testing"
)

// benchStar is an n-node lab on one bridge.
func benchStar(n int) []byte {
	var b strings.Builder
	b.WriteString("name: bench\nbridges:\n  lan: {subnet: 172.20.0.0/22}\nnodes:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  n%d: {interfaces: {eth0: lan}}\n", i)
	}
	return []byte(b.String())
}

// benchRing is n nodes with 2n point-to-point links.
func benchRing(n int) []byte {
	var b strings.Builder
	b.WriteString("name: ring\nnodes:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	b.WriteString("links:\n")
	for i := 1; i <= n; i++ {
		for hop := 1; hop <= 2; hop++ {
			fmt.Fprintf(&b, "  - endpoints: [n%d:a%d, n%d:b%d]\n", i, hop, (i+hop-1)%n+1, hop)
		}
	}
	return []byte(b.String())
}

// BenchmarkParseStar1000 plans a generated 1000-node one-bridge file.
func BenchmarkParseStar1000(b *testing.B) {
	benchParse(b, "/tmp/bench.yaml", benchStar(1000))
}

// BenchmarkParseRing500 plans 500 nodes with 1000 point-to-point links.
func BenchmarkParseRing500(b *testing.B) {
	benchParse(b, "/tmp/ring.yaml", benchRing(500))
}
