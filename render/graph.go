package render

import (
	"fmt"
	"net/netip"
	"strings"

	"leolab/topology"
)

// Formats lists the formats Render accepts.
var Formats = []string{"dot", "mermaid"}

// Render draws p in format "dot" or "mermaid". The output is deterministic:
// bridges, nodes and links in plan order.
func Graph(p *topology.Plan, format string) (string, error) {
	switch format {
	case "dot":
		return dot(p), nil
	case "mermaid":
		return mermaid(p), nil
	}
	return "", fmt.Errorf("unknown graph format %q (want %s)", format, strings.Join(Formats, " or "))
}

// ifaceLabel is "eth0 172.20.1.2/24" (and its IPv6 address after another
// sep in a dual-stack lab), or just the name without an address.
func ifaceLabel(ifc topology.Interface, sep string) string {
	return withValid(ifc.Name, sep, ifc.IPv4, ifc.IPv6)
}

// addrLike is a netip.Addr or netip.Prefix: shown only when set.
type addrLike interface {
	IsValid() bool
	String() string
}

// withValid is label followed by sep and each of addrs that is set.
func withValid(label, sep string, addrs ...addrLike) string {
	for _, a := range addrs {
		if a.IsValid() {
			label += sep + a.String()
		}
	}
	return label
}

func bridgeLabel(b topology.Bridge, sep string) string {
	label := withValid(b.Name, sep, b.Subnet, b.Subnet6)
	if b.NAT {
		label += sep + "nat"
	}
	return label
}

// linkSubnets is a link's subnet and subnet6, those it has, joined by sep.
func linkSubnets(l topology.Link, sep string) string {
	var parts []string
	for _, s := range []netip.Prefix{l.Subnet, l.Subnet6} {
		if s.IsValid() {
			parts = append(parts, s.String())
		}
	}
	return strings.Join(parts, sep)
}

// bridgePort is a node interface on a lab bridge, with the node's and the
// bridge's index in the plan.
type bridgePort struct {
	node, bridge int
	ifc          topology.Interface
}

// bridgePorts lists the node interfaces that are on a bridge, node by node
// in plan order.
func bridgePorts(p *topology.Plan) []bridgePort {
	bridgeID := map[string]int{}
	for i, br := range p.Bridges {
		bridgeID[br.Name] = i
	}
	var out []bridgePort
	for i, n := range p.Nodes {
		for _, ifc := range n.Interfaces {
			if ifc.Bridge != "" {
				out = append(out, bridgePort{node: i, bridge: bridgeID[ifc.Bridge], ifc: ifc})
			}
		}
	}
	return out
}

// linkEnds returns, for link i, the two interfaces with their node indexes.
func linkEnds(p *topology.Plan, i int) (ends [2]topology.Interface, nodes [2]int) {
	l := p.Links[i]
	for e, ep := range l.Endpoints {
		for ni, n := range p.Nodes {
			if n.Name != ep.Node {
				continue
			}
			for _, ifc := range n.Interfaces {
				if ifc.Name == ep.Iface {
					ends[e], nodes[e] = ifc, ni
				}
			}
		}
	}
	return ends, nodes
}

func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func dot(p *topology.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s {\n", dotQuote(p.Name))
	b.WriteString("  node [fontname=\"monospace\"];\n")
	for i, br := range p.Bridges {
		fmt.Fprintf(&b, "  b%d [shape=box, label=%s];\n", i, dotQuote(bridgeLabel(br, "\n")))
	}
	for i, n := range p.Nodes {
		fmt.Fprintf(&b, "  n%d [shape=ellipse, label=%s];\n", i, dotQuote(n.Name))
	}
	for _, bp := range bridgePorts(p) {
		fmt.Fprintf(&b, "  n%d -- b%d [label=%s];\n", bp.node, bp.bridge, dotQuote(ifaceLabel(bp.ifc, "\n")))
	}
	for i, l := range p.Links {
		ends, nodes := linkEnds(p, i)
		attrs := fmt.Sprintf("taillabel=%s, headlabel=%s", dotQuote(ifaceLabel(ends[0], "\n")), dotQuote(ifaceLabel(ends[1], "\n")))
		if sub := linkSubnets(l, "\n"); sub != "" {
			attrs += ", label=" + dotQuote(sub)
		}
		fmt.Fprintf(&b, "  n%d -- n%d [%s];\n", nodes[0], nodes[1], attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

func mermaidQuote(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "\n", "<br/>")
	return `"` + r.Replace(s) + `"`
}

func mermaid(p *topology.Plan) string {
	var b strings.Builder
	b.WriteString("graph LR\n")
	for i, br := range p.Bridges {
		fmt.Fprintf(&b, "  b%d[[%s]]\n", i, mermaidQuote(bridgeLabel(br, "\n")))
	}
	for i, n := range p.Nodes {
		fmt.Fprintf(&b, "  n%d(%s)\n", i, mermaidQuote(n.Name))
	}
	for _, bp := range bridgePorts(p) {
		fmt.Fprintf(&b, "  n%d ---|%s| b%d\n", bp.node, mermaidQuote(ifaceLabel(bp.ifc, " ")), bp.bridge)
	}
	for i, l := range p.Links {
		ends, nodes := linkEnds(p, i)
		label := ifaceLabel(ends[0], " ") + " — " + ifaceLabel(ends[1], " ")
		if sub := linkSubnets(l, "\n"); sub != "" {
			label = sub + "\n" + label
		}
		fmt.Fprintf(&b, "  n%d ---|%s| n%d\n", nodes[0], mermaidQuote(label), nodes[1])
	}
	return b.String()
}
