package render

import (
	"net/netip"
	"strings"
	"testing"

	"leolab/topology"
)

func plan() *topology.Plan {
	pfx := netip.MustParsePrefix
	return &topology.Plan{
		Name: "demo",
		Bridges: []topology.Bridge{
			{Name: "lan", Subnet: pfx("172.20.1.0/24"), NAT: true},
		},
		Nodes: []topology.Node{
			{Name: "h1", Interfaces: []topology.Interface{
				{Name: "eth0", Bridge: "lan", Link: -1, IPv4: pfx("172.20.1.2/24")},
			}},
			{Name: "r1", Interfaces: []topology.Interface{
				{Name: "eth0", Bridge: "lan", Link: -1},
				{Name: "eth1", Link: 0, IPv4: pfx("172.20.240.1/30")},
			}},
			{Name: "r2", Interfaces: []topology.Interface{
				{Name: "eth1", Link: 0, IPv4: pfx("172.20.240.2/30")},
			}},
		},
		Links: []topology.Link{{
			Endpoints: [2]topology.Endpoint{{Node: "r1", Iface: "eth1"}, {Node: "r2", Iface: "eth1"}},
			Subnet:    pfx("172.20.240.0/30"),
		}},
	}
}

func TestRenderDot(t *testing.T) {
	got, err := Graph(plan(), "dot")
	if err != nil {
		t.Fatal(err)
	}
	want := `graph "demo" {
  node [fontname="monospace"];
  b0 [shape=box, label="lan\n172.20.1.0/24\nnat"];
  n0 [shape=ellipse, label="h1"];
  n1 [shape=ellipse, label="r1"];
  n2 [shape=ellipse, label="r2"];
  n0 -- b0 [label="eth0\n172.20.1.2/24"];
  n1 -- b0 [label="eth0"];
  n1 -- n2 [taillabel="eth1\n172.20.240.1/30", headlabel="eth1\n172.20.240.2/30", label="172.20.240.0/30"];
}
`
	if got != want {
		t.Errorf("dot output:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderMermaid(t *testing.T) {
	got, err := Graph(plan(), "mermaid")
	if err != nil {
		t.Fatal(err)
	}
	want := `graph LR
  b0[["lan<br/>172.20.1.0/24<br/>nat"]]
  n0("h1")
  n1("r1")
  n2("r2")
  n0 ---|"eth0 172.20.1.2/24"| b0
  n1 ---|"eth0"| b0
  n1 ---|"172.20.240.0/30<br/>eth1 172.20.240.1/30 — eth1 172.20.240.2/30"| n2
`
	if got != want {
		t.Errorf("mermaid output:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if _, err := Graph(plan(), "svg"); err == nil {
		t.Fatal("Graph(svg) succeeded, want an error")
	}
}

func TestRenderQuotes(t *testing.T) {
	p := &topology.Plan{Name: `a"b\c`}
	got, _ := Graph(p, "dot")
	if want := "graph \"a\\\"b\\\\c\" {\n  node [fontname=\"monospace\"];\n}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRenderDualStack(t *testing.T) {
	pfx := netip.MustParsePrefix
	p := plan()
	p.Bridges[0].Subnet6 = pfx("fd00:1::/64")
	p.Nodes[0].Interfaces[0].IPv6 = pfx("fd00:1::2/64")
	p.Links[0].Subnet6 = pfx("fd00:8000::/64")
	p.Nodes[1].Interfaces[1].IPv6 = pfx("fd00:8000::1/64")
	got, err := Graph(p, "dot")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`label="lan\n172.20.1.0/24\nfd00:1::/64\nnat"`,
		`n0 -- b0 [label="eth0\n172.20.1.2/24\nfd00:1::2/64"]`,
		`taillabel="eth1\n172.20.240.1/30\nfd00:8000::1/64"`,
		`label="172.20.240.0/30\nfd00:8000::/64"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dot output lacks %s:\n%s", want, got)
		}
	}
}
