package topology

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Checks: what a working lab looks like (`checks:` in a topology, or a
// separate checks file). The raw stage reads them here like the rest of the
// file; they are resolved against a Plan's nodes and interfaces, so a
// teacher's checks file is validated against the lab it is run on.

// Check is one expectation about a running lab. Exactly one of Reach, Route,
// Exec and Daemon is set; Kind names it and Node is the node it runs in.
type Check struct {
	Name   string       `json:"name"`
	Kind   string       `json:"kind"`
	Node   string       `json:"node"`
	Reach  *ReachCheck  `json:"reach,omitempty"`
	Route  *RouteCheck  `json:"route,omitempty"`
	Exec   *ExecCheck   `json:"exec,omitempty"`
	Daemon *DaemonCheck `json:"daemon,omitempty"`
}

// Check kinds.
const (
	KindReach  = "reach"
	KindRoute  = "route"
	KindExec   = "exec"
	KindDaemon = "daemon"
)

// ReachCheck: a ping from From to Addr (To as written) succeeds, or with
// Fail, does not.
type ReachCheck struct {
	From string     `json:"from"`
	To   string     `json:"to"`
	Addr netip.Addr `json:"addr"`
	Fail bool       `json:"fail,omitempty"`
}

// RouteCheck: the node's main table has a route to To (and, when set,
// through Via, out of Dev, of protocol Proto), or with Absent, has none.
type RouteCheck struct {
	To     netip.Prefix `json:"to"`
	Via    netip.Addr   `json:"via,omitzero"`
	Dev    string       `json:"dev,omitempty"`
	Proto  string       `json:"proto,omitempty"`
	Absent bool         `json:"absent,omitempty"`
}

// ExecCheck: Argv run in the node exits with Exit (when set) and its
// output (stdout and stderr) matches Output (when set).
type ExecCheck struct {
	Argv   []string `json:"argv"`
	Exit   *int     `json:"exit,omitempty"`
	Output string   `json:"output,omitempty"`
}

// DaemonCheck: a process named Name runs in the node.
type DaemonCheck struct {
	Name string `json:"name"`
}

// routeProtos are the protocol names a route check accepts, with the
// rtm_protocol numbers each stands for (iproute2's rt_protos, FRR's and
// BIRD's). "static" also matches "boot": that is what `ip route add` and
// leolab's own routes: and gateway: install.
var routeProtos = map[string][]int{
	"redirect": {1}, "kernel": {2}, "boot": {3}, "static": {3, 4, 196},
	"ra": {9}, "zebra": {11}, "bird": {12}, "dhcp": {16}, "babel": {42},
	"bgp": {186}, "isis": {187}, "ospf": {188}, "rip": {189}, "ripng": {190},
	"nhrp": {191}, "eigrp": {192}, "ldp": {193}, "openfabric": {197},
}

// RouteProtoNumbers is what a route check's proto matches: the numbers of a
// name, or the number itself.
func RouteProtoNumbers(proto string) ([]int, bool) {
	if nums, ok := routeProtos[proto]; ok {
		return nums, true
	}
	n, err := strconv.Atoi(proto)
	if err != nil || n < 0 || n > 255 {
		return nil, false
	}
	return []int{n}, true
}

func routeProtoNames() string {
	names := make([]string, 0, len(routeProtos))
	for n := range routeProtos {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// The raw stage of a check.
type rawCheck struct {
	at     pos
	name   sval
	kinds  []sval // the kind keys written, at their keys
	reach  rawReach
	route  rawRouteCheck
	exec   rawExecCheck
	daemon rawDaemon
}

type rawReach struct{ from, to, expect sval }

type rawRouteCheck struct{ node, to, via, dev, proto, expect sval }

type rawExecCheck struct {
	node   sval
	cmd    []sval
	cmdAt  pos
	cmdBad bool // reported while decoding
	exit   ival
	output sval
}

type rawDaemon struct{ node, name sval }

func (d *decoder) decodeChecks(e entry) []*rawCheck {
	var out []*rawCheck
	for _, item := range d.optionalList(e, "checks") {
		c := &rawCheck{at: posOf(item)}
		kind := func(k string, read func(entry)) func(entry) {
			return func(e entry) {
				c.kinds = append(c.kinds, sval{v: k, pos: e.kpos, set: true})
				read(e)
			}
		}
		d.fields(item, "check", map[string]func(entry){
			"name":   into(&c.name, d.str),
			"reach":  kind(KindReach, func(e entry) { c.reach = d.decodeReach(e) }),
			"route":  kind(KindRoute, func(e entry) { c.route = d.decodeRouteCheck(e) }),
			"exec":   kind(KindExec, func(e entry) { c.exec = d.decodeExecCheck(e) }),
			"daemon": kind(KindDaemon, func(e entry) { c.daemon = d.decodeDaemon(e) }),
		})
		out = append(out, c)
	}
	return out
}

func (d *decoder) decodeReach(e entry) rawReach {
	var r rawReach
	d.fields(e.value, "reach check", map[string]func(entry){
		"from":   into(&r.from, d.str),
		"to":     into(&r.to, d.str),
		"expect": into(&r.expect, d.str),
	})
	return r
}

func (d *decoder) decodeRouteCheck(e entry) rawRouteCheck {
	var r rawRouteCheck
	d.fields(e.value, "route check", map[string]func(entry){
		"node":   into(&r.node, d.str),
		"to":     into(&r.to, d.str),
		"via":    into(&r.via, d.str),
		"dev":    into(&r.dev, d.str),
		"proto":  into(&r.proto, d.text),
		"expect": into(&r.expect, d.str),
	})
	return r
}

func (d *decoder) decodeExecCheck(e entry) rawExecCheck {
	var r rawExecCheck
	d.fields(e.value, "exec check", map[string]func(entry){
		"node": into(&r.node, d.str),
		"cmd": func(e entry) {
			r.cmdAt = valuePos(e)
			ok := false
			if _, isList := unwrap(e.value).(*ast.SequenceNode); isList {
				r.cmd, ok = d.strList(e)
			} else if s, isStr := d.str(e); isStr {
				r.cmd, ok = []sval{{v: "/bin/sh", pos: s.pos, set: true}, {v: "-c", pos: s.pos, set: true}, s}, true
			}
			r.cmdBad = !ok
		},
		"exit":   into(&r.exit, d.integer),
		"output": into(&r.output, d.str),
	})
	return r
}

func (d *decoder) decodeDaemon(e entry) rawDaemon {
	var r rawDaemon
	d.fields(e.value, "daemon check", map[string]func(entry){
		"node": into(&r.node, d.str),
		"name": into(&r.name, d.str),
	})
	return r
}

// checkResolver resolves raw checks against a plan's nodes.
type checkResolver struct {
	*decoder
	plan  *Plan
	nodes map[string]*Node
}

func resolveChecks(d *decoder, raws []*rawCheck, plan *Plan) []Check {
	cr := &checkResolver{decoder: d, plan: plan, nodes: map[string]*Node{}}
	for i := range plan.Nodes {
		cr.nodes[plan.Nodes[i].Name] = &plan.Nodes[i]
	}
	var out []Check
	names := map[string]int{}
	for _, rc := range raws {
		c, ok := cr.resolve(rc)
		if !ok {
			continue
		}
		if line, dup := names[c.Name]; dup && rc.name.set {
			cr.errAt(rc.name.pos, "check name %q is already used at line %d", c.Name, line)
			continue
		}
		names[c.Name] = rc.at.line
		out = append(out, c)
	}
	return out
}

func (cr *checkResolver) resolve(rc *rawCheck) (Check, bool) {
	switch len(rc.kinds) {
	case 0:
		cr.errAt(rc.at, "check needs one of reach, route, exec, daemon")
		return Check{}, false
	case 1:
	default:
		cr.errAt(rc.kinds[1].pos, "check has both %s and %s; write one kind per check", rc.kinds[0].v, rc.kinds[1].v)
		return Check{}, false
	}
	var c Check
	var ok bool
	switch rc.kinds[0].v {
	case KindReach:
		c, ok = cr.reach(rc.kinds[0].pos, rc.reach)
	case KindRoute:
		c, ok = cr.route(rc.kinds[0].pos, rc.route)
	case KindExec:
		c, ok = cr.exec(rc.kinds[0].pos, rc.exec)
	case KindDaemon:
		c, ok = cr.daemon(rc.kinds[0].pos, rc.daemon)
	}
	if rc.name.set {
		c.Name = rc.name.v
	}
	return c, ok
}

// node looks up a check's node, reporting a missing or unknown one.
func (cr *checkResolver) node(at pos, kind, field string, v sval) (*Node, bool) {
	if !v.set {
		cr.errAt(at, "%s check needs %q", kind, field)
		return nil, false
	}
	n := cr.nodes[v.v]
	if n == nil {
		cr.errAt(v.pos, "%s check: unknown node %q", kind, v.v)
		return nil, false
	}
	return n, true
}

func (cr *checkResolver) expect(v sval, yes, no string) (bool, bool) {
	switch {
	case !v.set || v.v == yes:
		return false, true
	case v.v == no:
		return true, true
	}
	cr.errAt(v.pos, "expect %q: want %s or %s", v.v, yes, no)
	return false, false
}

func (cr *checkResolver) reach(at pos, r rawReach) (Check, bool) {
	from, ok := cr.node(at, KindReach, "from", r.from)
	fail, okE := cr.expect(r.expect, "ok", "fail")
	if !r.to.set {
		cr.errAt(at, "reach check needs \"to\"")
		return Check{}, false
	}
	addr, okT := cr.target(r.to)
	if !ok || !okE || !okT {
		return Check{}, false
	}
	rc := &ReachCheck{From: from.Name, To: r.to.v, Addr: addr, Fail: fail}
	name := from.Name + " reaches " + r.to.v
	if fail {
		name = from.Name + " does not reach " + r.to.v
	}
	return Check{Name: name, Kind: KindReach, Node: from.Name, Reach: rc}, true
}

// target reads a reach destination.
func (cr *checkResolver) target(v sval) (netip.Addr, bool) {
	a, err := cr.plan.Address(v.v)
	if err != nil {
		cr.errAt(v.pos, "reach to %v", err)
		return netip.Addr{}, false
	}
	return a, true
}

// Address resolves a destination as checks and traces write it: NODE (its
// first address), NODE:IFACE or an IPv4 address.
func (p *Plan) Address(target string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(target); err == nil {
		if !a.Is4() {
			return netip.Addr{}, fmt.Errorf("%s: only IPv4 addresses", target)
		}
		return a, nil
	}
	name, iface, hasIface := strings.Cut(target, ":")
	var n *Node
	for i := range p.Nodes {
		if p.Nodes[i].Name == name {
			n = &p.Nodes[i]
		}
	}
	switch {
	case n == nil:
		return netip.Addr{}, fmt.Errorf("%q is not a node, NODE:IFACE or IPv4 address", target)
	case !hasIface && n.FirstAddr().IsValid():
		return n.FirstAddr(), nil
	case !hasIface:
		return netip.Addr{}, fmt.Errorf("%s: the node has no address", name)
	}
	for _, ifc := range n.Interfaces {
		if ifc.Name != iface {
			continue
		}
		if !ifc.IPv4.IsValid() {
			return netip.Addr{}, fmt.Errorf("%s: the interface has no address", target)
		}
		return ifc.IPv4.Addr(), nil
	}
	return netip.Addr{}, fmt.Errorf("%s: node %s has no interface %q", target, name, iface)
}

func (cr *checkResolver) route(at pos, r rawRouteCheck) (Check, bool) {
	n, ok := cr.node(at, KindRoute, "node", r.node)
	absent, okE := cr.expect(r.expect, "present", "absent")
	ok = ok && okE
	rc := &RouteCheck{Absent: absent}
	if !r.to.set {
		cr.errAt(at, "route check needs \"to\"")
		ok = false
	} else if p, err := parseCheckPrefix(r.to.v); err != nil {
		cr.errAt(r.to.pos, "route check: %v", err)
		ok = false
	} else {
		rc.To = p
	}
	if r.via.set {
		if a, err := netip.ParseAddr(r.via.v); err != nil || !a.Is4() {
			cr.errAt(r.via.pos, "route check: via %q is not an IPv4 address", r.via.v)
			ok = false
		} else {
			rc.Via = a
		}
	}
	if r.proto.set {
		if _, known := RouteProtoNumbers(r.proto.v); !known {
			cr.errAt(r.proto.pos, "route check: unknown proto %q; want a number 0-255 or one of %s", r.proto.v, routeProtoNames())
			ok = false
		}
		rc.Proto = r.proto.v
	}
	if r.dev.set && n != nil {
		if !hasIface(n, r.dev.v) {
			cr.errAt(r.dev.pos, "route check: node %s has no interface %q", n.Name, r.dev.v)
			ok = false
		}
		rc.Dev = r.dev.v
	}
	if !ok {
		return Check{}, false
	}
	return Check{Name: routeCheckName(n.Name, rc), Kind: KindRoute, Node: n.Name, Route: rc}, true
}

func routeCheckName(node string, rc *RouteCheck) string {
	var b strings.Builder
	b.WriteString(node)
	if rc.Absent {
		b.WriteString(" has no route to ")
	} else {
		b.WriteString(" has a route to ")
	}
	if rc.To.Bits() == 0 {
		b.WriteString("default")
	} else {
		b.WriteString(rc.To.String())
	}
	if rc.Via.IsValid() {
		b.WriteString(" via " + rc.Via.String())
	}
	if rc.Dev != "" {
		b.WriteString(" dev " + rc.Dev)
	}
	if rc.Proto != "" {
		b.WriteString(" proto " + rc.Proto)
	}
	return b.String()
}

// parseCheckPrefix reads a route check's destination: a CIDR prefix without
// host bits, a bare address (/32) or "default".
func parseCheckPrefix(s string) (netip.Prefix, error) {
	if s == "default" {
		return defaultRoute, nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return netip.PrefixFrom(a, 32), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("to %q is not an IPv4 prefix like 10.0.0.0/24 or default", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("to %s has host bits set (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}

func hasIface(n *Node, name string) bool {
	if name == "lo" {
		return true
	}
	for _, ifc := range n.Interfaces {
		if ifc.Name == name {
			return true
		}
	}
	return false
}

func (cr *checkResolver) exec(at pos, r rawExecCheck) (Check, bool) {
	n, ok := cr.node(at, KindExec, "node", r.node)
	ec := &ExecCheck{}
	if r.cmdAt == (pos{}) {
		cr.errAt(at, "exec check needs \"cmd\" (a string for sh -c, or a list)")
		ok = false
	} else if r.cmdBad {
		ok = false
	} else if len(r.cmd) == 0 {
		cr.errAt(r.cmdAt, "exec check: cmd is empty")
		ok = false
	}
	for _, s := range r.cmd {
		ec.Argv = append(ec.Argv, s.v)
	}
	if r.exit.set {
		if r.exit.v < 0 || r.exit.v > 255 {
			cr.errAt(r.exit.pos, "exec check: exit %d is not an exit status 0-255", r.exit.v)
			ok = false
		}
		code := int(r.exit.v)
		ec.Exit = &code
	}
	if r.output.set {
		if _, err := regexp.Compile(r.output.v); err != nil {
			cr.errAt(r.output.pos, "exec check: output is not a regular expression: %v", err)
			ok = false
		}
		ec.Output = r.output.v
	}
	if !r.exit.set && !r.output.set {
		zero := 0
		ec.Exit = &zero // neither written: the command must succeed
	}
	if !ok {
		return Check{}, false
	}
	shown := strings.Join(ec.Argv, " ")
	if len(ec.Argv) == 3 && ec.Argv[0] == "/bin/sh" && ec.Argv[1] == "-c" {
		shown = ec.Argv[2] // written as a string
	}
	return Check{Name: n.Name + " runs: " + shown, Kind: KindExec, Node: n.Name, Exec: ec}, true
}

func (cr *checkResolver) daemon(at pos, r rawDaemon) (Check, bool) {
	n, ok := cr.node(at, KindDaemon, "node", r.node)
	switch {
	case !r.name.set:
		cr.errAt(at, "daemon check needs \"name\" (the process name)")
		ok = false
	case r.name.v == "" || strings.Contains(r.name.v, "/"):
		cr.errAt(r.name.pos, "daemon check: name %q is not a process name", r.name.v)
		ok = false
	}
	if !ok {
		return Check{}, false
	}
	return Check{Name: n.Name + " runs daemon " + r.name.v, Kind: KindDaemon, Node: n.Name, Daemon: &DaemonCheck{Name: r.name.v}}, true
}

// ParseChecks reads a separate checks file (`checks: [...]`, the same
// schema as a topology's checks), or the checks: of a whole topology file
// (one with nodes:), and resolves them against plan. Errors are
// Errors, every violation at once, located in file.
func ParseChecks(file string, data []byte, plan *Plan) ([]Check, error) {
	d := &decoder{file: file}
	body, ok := d.readYAML(data)
	if !ok {
		return nil, d.errs.sorted()
	}
	var raws []*rawCheck
	handlers := map[string]func(entry){
		"checks": func(e entry) { raws = d.decodeChecks(e) },
	}
	if isTopology(body) {
		// A whole topology file: its checks, resolved against the running
		// lab (whose addresses may differ from a fresh plan's).
		for _, k := range []string{"name", "ipv4_pool", "ipv6", "ipv6_pool", "defaults", "bridges", "nodes", "links"} {
			handlers[k] = func(entry) {}
		}
	}
	d.fields(body, "the checks file", handlers)
	checks := resolveChecks(d, raws, plan)
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	return checks, nil
}

// isTopology reports whether a file's body has a top-level nodes: key.
func isTopology(body ast.Node) bool { return hasTopKey(body, "nodes") }
