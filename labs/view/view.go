// Package view holds the data labs reports about deployed labs: the view of
// one lab that inspect shows (SPEC §4 JSON), the line of one lab that list
// shows, and the outcome of one pingall ping. It is plain data with the JSON
// names the SPEC fixes, and imports nothing of the host, so package render
// can print it without pulling in what labs drives (netlink, nodes, bridges).
package view

import "time"

// Lab is one lab as `inspect --format json` prints it (SPEC §4).
type Lab struct {
	Name     string    `json:"name"`
	Isolated bool      `json:"isolated"`
	Phase    string    `json:"phase"`
	Created  time.Time `json:"created"`
	Bridges  []Bridge  `json:"bridges"`
	Nodes    []Node    `json:"nodes"`
	Links    []Link    `json:"links"`
}

// Bridge is one bridge of a lab.
type Bridge struct {
	Name    string `json:"name"`
	Device  string `json:"device"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
	NAT     bool   `json:"nat"`
	// Subnet6 and Gateway6 are the bridge's IPv6 subnet and host-side
	// address, absent on an IPv4-only bridge.
	Subnet6  string `json:"subnet6,omitempty"`
	Gateway6 string `json:"gateway6,omitempty"`
}

// Node is one node of a lab.
type Node struct {
	Name       string      `json:"name"`
	State      string      `json:"state"`
	Pid        int         `json:"pid"`
	Netns      string      `json:"netns"`
	Rootfs     string      `json:"rootfs"`
	Interfaces []Interface `json:"interfaces"`
	Host       string      `json:"host,omitempty"` // a lab across hosts: the host running it
}

// Interface is one node interface: a bridge port or a link end.
type Interface struct {
	Name   string `json:"name"`
	Bridge string `json:"bridge,omitempty"`
	Peer   string `json:"peer,omitempty"`
	IPv4   string `json:"ipv4"`
	MAC    string `json:"mac"`
	IPv6   string `json:"ipv6,omitempty"` // CIDR, absent when it carries no IPv6
}

// Link is one point-to-point link.
type Link struct {
	Endpoints []string `json:"endpoints"`
	Subnet    string   `json:"subnet"`
	Subnet6   string   `json:"subnet6,omitempty"`
}

// ListEntry is one deployed lab for `leolab list`.
type ListEntry struct {
	Name     string    `json:"name"`
	Nodes    int       `json:"nodes"`
	Running  int       `json:"running"`
	Since    time.Time `json:"since"`
	Isolated bool      `json:"isolated"`
	Phase    string    `json:"phase"`
}

// PingResult is one node pinging another node's first address (its first
// IPv6 address when IPv6 is set).
type PingResult struct {
	From, To string
	OK       bool
	IPv6     bool
}
