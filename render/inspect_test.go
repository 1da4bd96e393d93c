package render

import (
	"strings"
	"testing"
	"time"

	"leolab/labs/view"
)

// labViews are two labs as inspect reports them: dual-stack interfaces, a
// link end without an address, a node without interfaces, a remote node.
func labViews() []view.Lab {
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return []view.Lab{
		{Name: "d", Isolated: true, Phase: "running", Created: created,
			Bridges: []view.Bridge{{Name: "lan", Device: "lab-d-lan", Subnet: "172.20.1.0/24", Gateway: "172.20.1.1", NAT: true,
				Subnet6: "fd00:1::/64", Gateway6: "fd00:1::1"}},
			Nodes: []view.Node{
				{Name: "h1", State: "running", Pid: 4242, Netns: "leolab-d-h1", Rootfs: "busybox", Interfaces: []view.Interface{
					{Name: "eth0", Bridge: "lan", IPv4: "172.20.1.2/24", MAC: "02:00:00:00:00:01", IPv6: "fd00:1::2/64"},
					{Name: "eth1", Peer: "r1:eth1", MAC: "02:00:00:00:00:02"}}},
				{Name: "r1", State: "exited", Netns: "leolab-d-r1", Rootfs: "/srv/rootfs/frr", Interfaces: []view.Interface{
					{Name: "eth1", Peer: "h1:eth1", IPv4: "10.0.0.2/30", MAC: "02:00:00:00:00:03"}}},
				{Name: "far", State: "remote (host b)", Rootfs: "busybox", Interfaces: []view.Interface{}, Host: "b"},
			},
			Links: []view.Link{{Endpoints: []string{"h1:eth1", "r1:eth1"}, Subnet: "10.0.0.0/30", Subnet6: "fd00:8000::/64"}}},
		{Name: "empty", Phase: "interrupted", Created: created, Bridges: []view.Bridge{}, Nodes: []view.Node{}, Links: []view.Link{}},
	}
}

func TestLabTable(t *testing.T) {
	var b strings.Builder
	LabTable(&b, labViews())
	want := lines(
		"LAB  NODE  STATE            PID   INTERFACES                                            ROOTFS",
		"d    h1    running          4242  eth0=172.20.1.2/24,fd00:1::2/64(lan) eth1=-(r1:eth1)  busybox",
		"d    r1    exited           0     eth1=10.0.0.2/30(h1:eth1)                             /srv/rootfs/frr",
		"d    far   remote (host b)  0     -                                                     busybox",
	)
	if b.String() != want {
		t.Errorf("inspect table:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestLabsJSON: one lab is one object with SPEC §4's field names in SPEC
// order, IPv6 fields only where there is IPv6; several labs, or any number
// when an array is asked for, are an array, and none is [] (never null).
func TestLabsJSON(t *testing.T) {
	var b strings.Builder
	if err := LabsJSON(&b, labViews()[:1], false); err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "d",
  "isolated": true,
  "phase": "running",
  "created": "2026-03-04T05:06:07Z",
  "bridges": [
    {
      "name": "lan",
      "device": "lab-d-lan",
      "subnet": "172.20.1.0/24",
      "gateway": "172.20.1.1",
      "nat": true,
      "subnet6": "fd00:1::/64",
      "gateway6": "fd00:1::1"
    }
  ],
  "nodes": [
    {
      "name": "h1",
      "state": "running",
      "pid": 4242,
      "netns": "leolab-d-h1",
      "rootfs": "busybox",
      "interfaces": [
        {
          "name": "eth0",
          "bridge": "lan",
          "ipv4": "172.20.1.2/24",
          "mac": "02:00:00:00:00:01",
          "ipv6": "fd00:1::2/64"
        },
        {
          "name": "eth1",
          "peer": "r1:eth1",
          "ipv4": "",
          "mac": "02:00:00:00:00:02"
        }
      ]
    },
    {
      "name": "r1",
      "state": "exited",
      "pid": 0,
      "netns": "leolab-d-r1",
      "rootfs": "/srv/rootfs/frr",
      "interfaces": [
        {
          "name": "eth1",
          "peer": "h1:eth1",
          "ipv4": "10.0.0.2/30",
          "mac": "02:00:00:00:00:03"
        }
      ]
    },
    {
      "name": "far",
      "state": "remote (host b)",
      "pid": 0,
      "netns": "",
      "rootfs": "busybox",
      "interfaces": [],
      "host": "b"
    }
  ],
  "links": [
    {
      "endpoints": [
        "h1:eth1",
        "r1:eth1"
      ],
      "subnet": "10.0.0.0/30",
      "subnet6": "fd00:8000::/64"
    }
  ]
}
`
	if b.String() != want {
		t.Errorf("inspect JSON:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, c := range []struct {
		name  string
		labs  []view.Lab
		array bool
		want  string
	}{
		{"one lab as an array", labViews()[:1], true, "[\n  " + strings.ReplaceAll(strings.TrimSuffix(want, "\n"), "\n", "\n  ") + "\n]\n"},
		{"no labs", nil, true, "[]\n"},
		{"no labs, no array asked", nil, false, "[]\n"},
	} {
		b.Reset()
		if err := LabsJSON(&b, c.labs, c.array); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, b.String(), c.want)
		}
	}
	b.Reset()
	if err := LabsJSON(&b, labViews(), false); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasPrefix(got, "[\n  {\n    \"name\": \"d\",") ||
		!strings.Contains(got, `"name": "empty",
    "isolated": false,
    "phase": "interrupted",
    "created": "2026-03-04T05:06:07Z",
    "bridges": [],
    "nodes": [],
    "links": []`) {
		t.Errorf("two labs:\n%s", got)
	}
}
