package render

import (
	"fmt"
	"strings"

	"leolab/topology"
)

// Netem is impairments as `netem show` and the live view print them:
// "delay 50ms jitter 5ms loss 1% rate 10000000bit", or "no impairment"
// for nil or an all-zero value.
func Netem(n *topology.Netem) string {
	if n == nil {
		return "no impairment"
	}
	var parts []string
	if n.Delay > 0 {
		parts = append(parts, "delay "+n.Delay.String())
	}
	if n.Jitter > 0 {
		parts = append(parts, "jitter "+n.Jitter.String())
	}
	if n.LossPct > 0 {
		parts = append(parts, fmt.Sprintf("loss %g%%", n.LossPct))
	}
	if n.RateBits > 0 {
		parts = append(parts, fmt.Sprintf("rate %dbit", n.RateBits))
	}
	if len(parts) == 0 {
		return "no impairment"
	}
	return strings.Join(parts, " ")
}
