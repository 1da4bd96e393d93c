package sysctl

import "testing"

func TestPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":                               "/proc/sys/net/ipv4/ip_forward",
		"net.ipv4.conf.eth0/1.forwarding":                   "/proc/sys/net/ipv4/conf/eth0.1/forwarding",
		"net.ipv6.conf." + Component("lb.x") + ".accept_ra": "/proc/sys/net/ipv6/conf/lb.x/accept_ra",
		"net..ip_forward":                                   "",
		"net.ipv4.conf.//.forwarding":                       "", // ".." as a component
		"net.ipv4.conf./.forwarding":                        "",
	} {
		got, err := Path(key)
		if want == "" {
			if err == nil {
				t.Errorf("Path(%q) = %q, want an error", key, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
}
