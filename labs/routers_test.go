package labs

import (
	"reflect"
	"strings"
	"testing"

	"leolab/internal/spec/nodespec"
	"leolab/topology"
)

// TestRouterOf: an FRR node gets watchfrr as its main process, its files,
// SYS_ADMIN and forwarding; frr: {} leaves /etc/frr alone; a BIRD node gets
// its config, socket dir and NET_BROADCAST; a plain node is unchanged.
func TestRouterOf(t *testing.T) {
	frr := routerOf(&topology.Node{Name: "r1", FRR: &topology.FRR{Daemons: []string{"ospfd"}, Config: "router ospf\n"},
		Caps:    topology.Caps{Add: []string{"SYS_TIME"}},
		Sysctls: []nodespec.Sysctl{{Key: "net.ipv4.ip_forward", Value: "0"}}})
	if frr.cmd[0] != "/bin/bash" || !strings.Contains(frr.cmd[2], "watchfrr") {
		t.Errorf("frr cmd = %q", frr.cmd)
	}
	paths := map[string]nodespec.File{}
	for _, f := range frr.files {
		paths[f.Path] = f
	}
	d := paths["/etc/frr/daemons"].Data
	for _, want := range []string{"zebra=yes\n", "staticd=yes\n", "mgmtd=yes\n", "ospfd=yes\n", `ospfd_options="-A 127.0.0.1"`} {
		if !strings.Contains(d, want) {
			t.Errorf("daemons lacks %q:\n%s", want, d)
		}
	}
	if paths["/etc/frr/frr.conf"].Data != "router ospf\n" || !strings.Contains(paths["/etc/frr/vtysh.conf"].Data, "username root nopassword") {
		t.Errorf("frr files: %+v", frr.files)
	}
	if f := paths["/var/run/frr"]; !f.Dir || f.Owner != "frr:frr" {
		t.Errorf("/var/run/frr: %+v", f)
	}
	if !reflect.DeepEqual(frr.caps.Add, []string{"SYS_ADMIN", "SYS_TIME"}) {
		t.Errorf("frr caps = %+v", frr.caps)
	}
	wantSysctls := []nodespec.Sysctl{{Key: "net.ipv6.conf.all.forwarding", Value: "1"}, {Key: "net.ipv4.ip_forward", Value: "0"}}
	if !reflect.DeepEqual(frr.sysctls, wantSysctls) {
		t.Errorf("frr sysctls = %+v, want the node's own ip_forward kept", frr.sysctls)
	}

	own := routerOf(&topology.Node{Name: "r2", FRR: &topology.FRR{}})
	for _, f := range own.files {
		if strings.HasPrefix(f.Path, "/etc/frr") {
			t.Errorf("frr: {} writes %s", f.Path)
		}
	}

	bird := routerOf(&topology.Node{Name: "r3", Bird: &topology.Bird{Config: "router id 1.1.1.1;\n"}})
	if bird.cmd[0] != "/usr/sbin/bird" || !reflect.DeepEqual(bird.caps.Add, []string{"NET_BROADCAST"}) || len(bird.files) != 2 {
		t.Errorf("bird = %+v", bird)
	}

	plain := routerOf(&topology.Node{Name: "h1", Cmd: []string{"sleep", "1"}})
	if !reflect.DeepEqual(plain.cmd, []string{"sleep", "1"}) || plain.files != nil || plain.sysctls != nil {
		t.Errorf("plain node = %+v", plain)
	}
}

// A dual-stack node's release puts back the MLD defaults its deploy
// changed (MLDv2; MLDv1 reports repeated within 10 s) on every interface
// and for later ones, unless the node sets them itself.
func TestIPv6ReleaseSysctls(t *testing.T) {
	n := &topology.Node{Name: "a", Interfaces: []topology.Interface{{Name: "eth0"}, {Name: "l0"}, {Name: "eth0.10"}},
		Sysctls: []nodespec.Sysctl{{Key: "net.ipv6.conf.all.force_mld_version", Value: "2"}}}
	got := withDefaults(n.Sysctls, ipv6ReleaseSysctls(n))
	want := []nodespec.Sysctl{
		{Key: "net.ipv6.conf.default.mldv1_unsolicited_report_interval", Value: "10000"},
		{Key: "net.ipv6.conf.eth0.mldv1_unsolicited_report_interval", Value: "10000"},
		{Key: "net.ipv6.conf.l0.mldv1_unsolicited_report_interval", Value: "10000"},
		{Key: "net.ipv6.conf.all.force_mld_version", Value: "2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("release sysctls\n got %v\nwant %v", got, want)
	}
}
