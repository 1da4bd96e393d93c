package render

import (
	"net/netip"
	"strings"
	"testing"

	"leolab/topology"
)

// tablePlan is a dual-stack lab with every part the plan table shows: an
// isolated lab, bridges with and without IPv6 and a gateway, a node with
// routes, one without interfaces, a link, and checks.
func tablePlan() *topology.Plan {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	return &topology.Plan{
		Name: "d", Pool: pfx("172.20.0.0/16"), Pool6: pfx("fd00::/48"), Isolated: true,
		Bridges: []topology.Bridge{
			{Name: "lan", Device: "lab-d-lan", Subnet: pfx("172.20.1.0/24"), Gateway: addr("172.20.1.1"), NAT: true, MTU: 1500,
				Subnet6: pfx("fd00:1::/64"), Gateway6: addr("fd00:1::1")},
			{Name: "v4", Device: "lab-d-v4", Subnet: pfx("172.20.2.0/24"), MTU: 9000},
		},
		Nodes: []topology.Node{
			{Name: "h1", Interfaces: []topology.Interface{
				{Name: "eth0", Bridge: "lan", Link: -1, IPv4: pfx("172.20.1.2/24"), IPv6: pfx("fd00:1::2/64"), MAC: "02:00:00:00:00:01"},
				{Name: "eth1", Bridge: "v4", Link: -1, IPv4: pfx("172.20.2.2/24"), MAC: "02:00:00:00:00:02"},
			}, Routes: []topology.Route{{To: pfx("0.0.0.0/0"), Via: addr("172.20.1.1")}, {To: pfx("10.0.0.0/8"), Via: addr("172.20.2.1")}}},
			{Name: "r1", Interfaces: []topology.Interface{
				{Name: "eth1", Link: 0, Peer: "r2:eth1", IPv4: pfx("172.20.240.1/30"), MAC: "02:00:00:00:00:03"},
			}},
			{Name: "lonely"},
		},
		Links: []topology.Link{{
			Endpoints: [2]topology.Endpoint{{Node: "r1", Iface: "eth1"}, {Node: "r2", Iface: "eth1"}},
			Subnet:    pfx("172.20.240.0/30"), MTU: 1400, Subnet6: pfx("fd00:8000::/64"),
		}},
		Checks: []topology.Check{{Name: "h1 reaches r1"}, {Name: "r1 has a default route"}},
	}
}

// plan4 is an IPv4-only lab with no bridges: no IPv6 columns, no bridge
// table, and no checks.
func plan4() *topology.Plan {
	pfx := netip.MustParsePrefix
	return &topology.Plan{
		Name: "p", Pool: pfx("10.10.0.0/16"),
		Nodes: []topology.Node{
			{Name: "a", Interfaces: []topology.Interface{{Name: "eth0", Link: 0, Peer: "b:eth0", IPv4: pfx("10.10.0.1/30"), MAC: "02:00:00:00:00:0a"}}},
			{Name: "b", Interfaces: []topology.Interface{{Name: "eth0", Link: 0, Peer: "a:eth0", MAC: "02:00:00:00:00:0b"}}},
		},
		Links: []topology.Link{{Endpoints: [2]topology.Endpoint{{Node: "a", Iface: "eth0"}, {Node: "b", Iface: "eth0"}}, Subnet: pfx("10.10.0.0/30"), MTU: 1500}},
	}
}

// hostsPlan is a lab across two hosts: a bridge and a link joined by VXLAN.
func hostsPlan() *topology.Plan {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	return &topology.Plan{
		Name: "campus", Pool: pfx("172.20.0.0/16"),
		Hosts:   []topology.Host{{Name: "a", Address: addr("192.0.2.1"), VXLANPort: 4789}, {Name: "b", Address: addr("192.0.2.2"), VXLANPort: 4790}, {Name: "c", Address: addr("192.0.2.3"), VXLANPort: 4789}},
		Bridges: []topology.Bridge{{Name: "lan", Device: "lab-campus-lan", Subnet: pfx("172.20.1.0/24"), MTU: 1450, Hosts: []string{"a", "b"}, VXLAN: &topology.VXLAN{VNI: 100}}},
		Nodes: []topology.Node{
			{Name: "h1", Host: "a", Interfaces: []topology.Interface{{Name: "eth0", Bridge: "lan", Link: -1, IPv4: pfx("172.20.1.2/24"), MAC: "02:00:00:00:00:01"}}},
			{Name: "h2", Host: "b", Interfaces: []topology.Interface{{Name: "eth0", Bridge: "lan", Link: -1, IPv4: pfx("172.20.1.3/24"), MAC: "02:00:00:00:00:02"},
				{Name: "eth1", Link: 0, Peer: "h1:eth1", MAC: "02:00:00:00:00:03"}}},
		},
		Links: []topology.Link{{Endpoints: [2]topology.Endpoint{{Node: "h2", Iface: "eth1"}, {Node: "h1", Iface: "eth1"}}, MTU: 1450, VXLAN: &topology.VXLAN{VNI: 200}}},
	}
}

// lines joins table lines, each ending in a newline; quoted lines keep the
// trailing spaces tabwriter leaves in padded empty cells visible.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestPlanTable(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *topology.Plan
		want string
	}{
		{"dual-stack, isolated, with checks", tablePlan(), lines(
			"lab d (pool 172.20.0.0/16, ipv6 pool fd00::/48): 3 nodes, 2 bridges, 1 links",
			"isolated: bridges in the lab's private namespace, none on the host, no NAT",
			"",
			"BRIDGE  DEVICE     SUBNET         GATEWAY     NAT    MTU   SUBNET6      GATEWAY6",
			"lan     lab-d-lan  172.20.1.0/24  172.20.1.1  true   1500  fd00:1::/64  fd00:1::1",
			"v4      lab-d-v4   172.20.2.0/24  -           false  9000  -            -",
			"",
			"NODE    IFACE  ATTACHED TO   IPV4             IPV6          MAC                ROUTES",
			"h1      eth0   bridge lan    172.20.1.2/24    fd00:1::2/64  02:00:00:00:00:01  default via 172.20.1.1, 10.0.0.0/8 via 172.20.2.1",
			"        eth1   bridge v4     172.20.2.2/24    -             02:00:00:00:00:02  ",
			"r1      eth1   link r2:eth1  172.20.240.1/30  -             02:00:00:00:00:03  -",
			"lonely  -      -             -                -             -                  -",
			"",
			"LINK                 SUBNET           MTU   SUBNET6             ",
			"r1:eth1 <-> r2:eth1  172.20.240.0/30  1400  fd00:8000::/64      ",
			"",
			"checks (leolab check):",
			"  h1 reaches r1",
			"  r1 has a default route",
		)},
		{"IPv4 only, no bridges", plan4(), lines(
			"lab p (pool 10.10.0.0/16): 2 nodes, 0 bridges, 1 links",
			"",
			"NODE  IFACE  ATTACHED TO  IPV4          MAC                ROUTES",
			"a     eth0   link b:eth0  10.10.0.1/30  02:00:00:00:00:0a  -",
			"b     eth0   link a:eth0  -             02:00:00:00:00:0b  -",
			"",
			"LINK               SUBNET        MTU       ",
			"a:eth0 <-> b:eth0  10.10.0.0/30  1500      ",
		)},
		{"across hosts", hostsPlan(), lines(
			"lab campus (pool 172.20.0.0/16): 2 nodes, 1 bridges, 1 links",
			"host a (192.0.2.1, udp 4789): h1",
			"host b (192.0.2.2, udp 4790): h2",
			"host c (192.0.2.3, udp 4789): -",
			"vxlan 100: bridge lan on hosts a b (gateway on a)",
			"vxlan 200: link h2:eth1 <-> h1:eth1",
			"",
			"BRIDGE  DEVICE          SUBNET         GATEWAY  NAT    MTU",
			"lan     lab-campus-lan  172.20.1.0/24  -        false  1450",
			"",
			"NODE  IFACE  ATTACHED TO   IPV4           MAC                ROUTES",
			"h1    eth0   bridge lan    172.20.1.2/24  02:00:00:00:00:01  -",
			"h2    eth0   bridge lan    172.20.1.3/24  02:00:00:00:00:02  -",
			"      eth1   link h1:eth1  -              02:00:00:00:00:03  ",
			"",
			"LINK                 SUBNET  MTU       ",
			"h2:eth1 <-> h1:eth1  -       1450      ",
		)},
	} {
		var b strings.Builder
		PlanTable(&b, c.p)
		if b.String() != c.want {
			t.Errorf("%s: plan table:\n%s\nwant:\n%s", c.name, b.String(), c.want)
		}
	}
}

// TestPlanJSON: validate --format json is the Plan's JSON indented by two
// spaces, ending in a newline.
func TestPlanJSON(t *testing.T) {
	p := &topology.Plan{Name: "e", Pool: netip.MustParsePrefix("10.0.0.0/16"),
		Bridges: []topology.Bridge{}, Nodes: []topology.Node{}, Links: []topology.Link{}}
	var b strings.Builder
	if err := PlanJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "e",
  "ipv4_pool": "10.0.0.0/16",
  "isolated": false,
  "bridges": [],
  "nodes": [],
  "links": []
}
`
	if b.String() != want {
		t.Errorf("plan JSON:\n%s\nwant:\n%s", b.String(), want)
	}
}
