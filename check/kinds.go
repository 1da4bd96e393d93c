package check

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"leolab/topology"
)

// once runs one attempt of a check: whether it passed, and what was found.
func (l *Lab) once(ctx context.Context, c *topology.Check) (bool, string, error) {
	switch c.Kind {
	case topology.KindReach:
		return l.reach(ctx, c.Reach)
	case topology.KindRoute:
		return l.route(c.Node, c.Route)
	case topology.KindExec:
		return l.exec(ctx, c.Node, c.Exec)
	case topology.KindDaemon:
		return l.daemon(c.Node, c.Daemon)
	}
	return false, "", fmt.Errorf("unknown check kind %q", c.Kind)
}

func (l *Lab) reach(ctx context.Context, r *topology.ReachCheck) (bool, string, error) {
	res, err := Ping(ctx, l.Netns(r.From), r.Addr, "", 1)
	if err != nil {
		return false, "", err
	}
	switch {
	case r.Fail && res.OK:
		return false, fmt.Sprintf("%s got a reply from %s", r.From, r.Addr), nil
	case r.Fail:
		return true, fmt.Sprintf("no reply from %s: %s", r.Addr, res.Detail), nil
	case res.OK:
		return true, fmt.Sprintf("reply from %s", r.Addr), nil
	}
	return false, fmt.Sprintf("ping %s from %s: %s", r.Addr, r.From, res.Detail), nil
}

// route compares the node's main table with the check.
// Equivalent to: ip netns exec NS ip route show table main
func (l *Lab) route(node string, rc *topology.RouteCheck) (bool, string, error) {
	h, err := handleAt(l.Netns(node))
	if err != nil {
		return false, "", err
	}
	defer h.Close()
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return false, "", fmt.Errorf("node %s: list routes: %w", node, err)
	}
	names := linkNames(h)
	var same []string // routes to the same prefix, for the detail
	for _, r := range routes {
		if routeDst(r) != rc.To {
			continue
		}
		line := formatRoute(r, names)
		same = append(same, line)
		if routeMatches(r, rc, names) {
			if rc.Absent {
				return false, "found: " + line, nil
			}
			return true, line, nil
		}
	}
	if rc.Absent {
		return true, "no such route", nil
	}
	if len(same) == 0 {
		return false, fmt.Sprintf("no route to %s in the main table", rc.To), nil
	}
	return false, "the main table has: " + strings.Join(same, "; "), nil
}

func linkNames(h *netlink.Handle) map[int]string {
	names := map[int]string{}
	links, _ := h.LinkList()
	for _, link := range links {
		names[link.Attrs().Index] = link.Attrs().Name
	}
	return names
}

func routeDst(r netlink.Route) netip.Prefix {
	if r.Dst == nil {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return ipnetPrefix(r.Dst)
}

func ipnetPrefix(n *net.IPNet) netip.Prefix {
	a, _ := netip.AddrFromSlice(n.IP)
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits)
}

func routeMatches(r netlink.Route, rc *topology.RouteCheck, names map[int]string) bool {
	if rc.Proto != "" {
		nums, _ := topology.RouteProtoNumbers(rc.Proto)
		if !slices.Contains(nums, int(r.Protocol)) {
			return false
		}
	}
	type hop struct {
		gw  net.IP
		dev int
	}
	hops := []hop{{r.Gw, r.LinkIndex}}
	if len(r.MultiPath) > 0 {
		hops = hops[:0]
		for _, nh := range r.MultiPath {
			hops = append(hops, hop{nh.Gw, nh.LinkIndex})
		}
	}
	for _, h := range hops {
		gw, _ := netip.AddrFromSlice(h.gw)
		if rc.Via.IsValid() && gw.Unmap() != rc.Via {
			continue
		}
		if rc.Dev != "" && names[h.dev] != rc.Dev {
			continue
		}
		return true
	}
	return false
}

// protoNames name rtm_protocol numbers the way `ip route` does.
var protoNames = map[int]string{
	1: "redirect", 2: "kernel", 3: "boot", 4: "static", 9: "ra", 11: "zebra", 12: "bird",
	16: "dhcp", 42: "babel", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 190: "ripng",
	191: "nhrp", 192: "eigrp", 193: "ldp", 196: "static", 197: "openfabric",
}

// formatRoute renders a route like `ip route` does.
func formatRoute(r netlink.Route, names map[int]string) string {
	var b strings.Builder
	dst := routeDst(r)
	if dst.Bits() == 0 {
		b.WriteString("default")
	} else {
		b.WriteString(dst.String())
	}
	if r.Type != 0 && r.Type != unix.RTN_UNICAST {
		b.WriteString(" type " + routeTypeName(r.Type))
	}
	if r.Gw != nil {
		b.WriteString(" via " + r.Gw.String())
	}
	if r.LinkIndex > 0 {
		b.WriteString(" dev " + names[r.LinkIndex])
	}
	for _, nh := range r.MultiPath {
		fmt.Fprintf(&b, " nexthop via %s dev %s", nh.Gw, names[nh.LinkIndex])
	}
	p := int(r.Protocol)
	if name, ok := protoNames[p]; ok {
		b.WriteString(" proto " + name)
	} else {
		b.WriteString(" proto " + strconv.Itoa(p))
	}
	if r.Src != nil {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Priority > 0 {
		fmt.Fprintf(&b, " metric %d", r.Priority)
	}
	return b.String()
}

func routeTypeName(t int) string {
	switch t {
	case unix.RTN_LOCAL:
		return "local"
	case unix.RTN_BROADCAST:
		return "broadcast"
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	}
	return strconv.Itoa(t)
}

// maxDetail bounds the command output quoted in a detail.
const maxDetail = 400

func (l *Lab) exec(ctx context.Context, node string, ec *topology.ExecCheck) (bool, string, error) {
	var out bytes.Buffer
	code, err := l.Exec(ctx, node, ec.Argv, &out)
	if err != nil {
		if ctx.Err() != nil {
			return false, "timed out", nil
		}
		return false, "", err
	}
	text := out.String()
	quoted := strings.TrimSpace(text)
	if len(quoted) > maxDetail {
		quoted = quoted[:maxDetail] + "…"
	}
	if ec.Exit != nil && code != *ec.Exit {
		return false, fmt.Sprintf("exit status %d, want %d; output: %q", code, *ec.Exit, quoted), nil
	}
	if ec.Output != "" && !regexp.MustCompile(ec.Output).MatchString(text) {
		return false, fmt.Sprintf("output does not match %q: %q", ec.Output, quoted), nil
	}
	return true, fmt.Sprintf("exit status %d", code), nil
}

// daemon looks for a process of the node by name: processes whose pid
// namespace is the one of the node's init, named by comm or by argv[0].
// Equivalent to: pgrep NAME, inside the node.
func (l *Lab) daemon(node string, dc *topology.DaemonCheck) (bool, string, error) {
	pid := l.Pid(node)
	if pid <= 0 {
		return false, "the node is not running", nil
	}
	names, err := processNames(pid)
	if err != nil {
		return false, "", fmt.Errorf("node %s: %w", node, err)
	}
	if slices.Contains(names, dc.Name) {
		return true, "running", nil
	}
	return false, fmt.Sprintf("no process named %s; running: %s", dc.Name, strings.Join(names, ", ")), nil
}

// processNames lists the names (comm, and argv[0]'s base name) of the
// processes in init's pid namespace, sorted and without duplicates.
func processNames(initPid int) ([]string, error) {
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	if err != nil {
		return nil, fmt.Errorf("read pid namespace of init %d: %w", initPid, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		if ns, err := os.Readlink(dir + "/ns/pid"); err != nil || ns != want {
			continue
		}
		if comm, err := os.ReadFile(dir + "/comm"); err == nil {
			seen[strings.TrimSpace(string(comm))] = true
		}
		if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil && len(cmdline) > 0 {
			argv0, _, _ := bytes.Cut(cmdline, []byte{0})
			seen[filepath.Base(string(argv0))] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
