package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"leolab/topology"
)

// PlanJSON writes the resolved plan as `leolab validate --format json`
// prints it: the Plan's own JSON, indented by two spaces.
func PlanJSON(w io.Writer, p *topology.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// PlanTable writes the resolved plan of `leolab validate`: bridges with
// subnets, every node interface with its address, links with subnets,
// routes, and the names of the lab's checks.
func PlanTable(w io.Writer, p *topology.Plan) {
	pools := "pool " + p.Pool.String()
	if p.Pool6.IsValid() {
		pools += ", ipv6 pool " + p.Pool6.String()
	}
	fmt.Fprintf(w, "lab %s (%s): %d nodes, %d bridges, %d links\n", p.Name, pools, len(p.Nodes), len(p.Bridges), len(p.Links))
	if p.Isolated {
		fmt.Fprintln(w, "isolated: bridges in the lab's private namespace, none on the host, no NAT")
	}
	printHosts(w, p)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	v6 := p.HasIPv6() // IPv6 columns only for a dual-stack plan
	if len(p.Bridges) > 0 {
		fmt.Fprintln(tw, "BRIDGE\tDEVICE\tSUBNET\tGATEWAY\tNAT\tMTU"+cols6(v6, "\tSUBNET6\tGATEWAY6"))
		for _, b := range p.Bridges {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d%s\n", b.Name, b.Device, orDash(b.Subnet.String(), b.Subnet.IsValid()),
				orDash(b.Gateway.String(), b.Gateway.IsValid()), b.NAT, b.MTU,
				cols6(v6, "\t"+orDash(b.Subnet6.String(), b.Subnet6.IsValid())+"\t"+orDash(b.Gateway6.String(), b.Gateway6.IsValid())))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "NODE\tIFACE\tATTACHED TO\tIPV4"+cols6(v6, "\tIPV6")+"\tMAC\tROUTES")
	for _, n := range p.Nodes {
		printNodeRows(tw, n, v6)
	}
	if len(p.Links) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "LINK\tSUBNET\tMTU"+cols6(v6, "\tSUBNET6")+"\t\t\t")
		for _, l := range p.Links {
			fmt.Fprintf(tw, "%s <-> %s\t%s\t%d%s\t\t\t\n", l.Endpoints[0], l.Endpoints[1], orDash(l.Subnet.String(), l.Subnet.IsValid()), l.MTU,
				cols6(v6, "\t"+orDash(l.Subnet6.String(), l.Subnet6.IsValid())))
		}
	}
	tw.Flush()
	if len(p.Checks) > 0 {
		fmt.Fprintf(w, "\nchecks (leolab check):\n")
		for _, c := range p.Checks {
			fmt.Fprintf(w, "  %s\n", c.Name)
		}
	}
}

// cols6 is s in a dual-stack plan's table, else nothing.
func cols6(v6 bool, s string) string {
	if !v6 {
		return ""
	}
	return s
}

// printNodeRows writes a node's rows of the plan table: one per interface,
// the node's name and routes on the first.
func printNodeRows(tw io.Writer, n topology.Node, v6 bool) {
	routes := routesCell(n.Routes)
	if len(n.Interfaces) == 0 {
		fmt.Fprintf(tw, "%s\t-\t-\t-%s\t-\t%s\n", n.Name, cols6(v6, "\t-"), routes)
	}
	for i, ifc := range n.Interfaces {
		where := "bridge " + ifc.Bridge
		if ifc.Bridge == "" {
			where = "link " + ifc.Peer
		}
		name := n.Name
		if i > 0 {
			name, routes = "", ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\t%s\n", name, ifc.Name, where, orDash(ifc.IPv4.String(), ifc.IPv4.IsValid()),
			cols6(v6, "\t"+orDash(ifc.IPv6.String(), ifc.IPv6.IsValid())), ifc.MAC, routes)
	}
}

// routesCell is a node's routes as "default via A, N via B", or "-".
func routesCell(rs []topology.Route) string {
	if len(rs) == 0 {
		return "-"
	}
	var parts []string
	for _, r := range rs {
		to := r.To.String()
		if r.To.Bits() == 0 {
			to = "default"
		}
		parts = append(parts, to+" via "+r.Via.String())
	}
	return strings.Join(parts, ", ")
}

// orDash is s when ok, else "-" (an empty table cell).
func orDash(s string, ok bool) string {
	if !ok {
		return "-"
	}
	return s
}

// printHosts lists, for a lab across hosts, each host's nodes and the
// segments VXLAN joins (deploy --host NAME brings up one host's share).
func printHosts(w io.Writer, p *topology.Plan) {
	for _, h := range p.Hosts {
		var nodes []string
		for _, n := range p.Nodes {
			if n.Host == h.Name {
				nodes = append(nodes, n.Name)
			}
		}
		fmt.Fprintf(w, "host %s (%s, udp %d): %s\n", h.Name, h.Address, h.VXLANPort, orDash(strings.Join(nodes, " "), len(nodes) > 0))
	}
	for _, b := range p.Bridges {
		if b.VXLAN != nil {
			fmt.Fprintf(w, "vxlan %d: bridge %s on hosts %s (gateway on %s)\n", b.VXLAN.VNI, b.Name, strings.Join(b.Hosts, " "), b.Hosts[0])
		}
	}
	for _, l := range p.Links {
		if l.VXLAN != nil {
			fmt.Fprintf(w, "vxlan %d: link %s <-> %s\n", l.VXLAN.VNI, l.Endpoints[0], l.Endpoints[1])
		}
	}
}
