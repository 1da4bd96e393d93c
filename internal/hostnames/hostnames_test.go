package hostnames

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The name grammar deploy enforces (topology/values.go, hosts.go); the
// samples below must obey it, since the guarantees hold for valid names.
var (
	labRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	nodeRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,62}$`)
	bridgeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,31}$`)
	ifaceRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,14}$`)
	hostRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// Adversarial samples: names with '-' and '.', the longest allowed, names
// that are other labs' prefixes (a, a-b), and names equal to the words
// the formats themselves use (leolab, bridge, vxlan, node, nodes, init,
// the cgroup controllers, the files of a lab directory).
var (
	sampleLabs    = []string{"a", "a-b", "a-b-c", "b", "x", "leolab", "leolab-x", "lb", "lv", "init", "nodes", "s", "claims", "locks", "unified", "memory", "leolab-init", strings.Repeat("z", 20), "abcdefghij-klmnopqrs"}
	sampleNodes   = []string{"a", "b", "b-c", "c", "x", "B", "bridge", "vxlan", "node", "nodes", "init", "control", "leolab", "s", "N" + strings.Repeat("n-", 31)}
	sampleBridges = []string{"lan", "a", "b-c", "bridge", "vxlan", "node", "Lan", "W" + strings.Repeat("w", 31)}
	sampleIfaces  = []string{"eth0", "eth0.100", "e-1", "a.b-c", "bridge", "node", "x", "abcdefghijklmno"}
	sampleHosts   = []string{"h1", "a-b", "leolab"}
	sampleRoots   = []string{DefaultRoot, "/srv/a-b.c"}
)

func TestSamplesAreValidNames(t *testing.T) {
	for _, c := range []struct {
		re    *regexp.Regexp
		names []string
	}{{labRE, sampleLabs}, {nodeRE, sampleNodes}, {bridgeRE, sampleBridges}, {ifaceRE, sampleIfaces}, {hostRE, sampleHosts}} {
		for _, n := range c.names {
			if !c.re.MatchString(n) {
				t.Errorf("sample %q does not match %s", n, c.re)
			}
		}
	}
}

// produced is one name: its kind, the arguments that made it, its value.
type produced struct{ kind, args, value string }

// everyName produces every kind of name for every sample. A new kind in
// hostnames.go belongs here.
func everyName() []produced {
	var out []produced
	add := func(kind, value string, args ...any) {
		out = append(out, produced{kind, fmt.Sprintf("%q", args), value})
	}
	run := HostRunDir
	add("netns dir", NetnsDir)
	// CgroupMount is the host's, and the v2 hierarchy: listed as that.
	add("host run dir", run)
	add("claims dir", ClaimsDir(run), run)
	add("host lock", HostLockPath(run), run)
	add("saved ip_forward", SavedForwardPath(run), run)
	add("saved ipv6 forwarding", SavedForward6Path(run), run)
	for _, h := range CgroupHierarchies() {
		add("cgroup hierarchy", h, h)
		add("cgroup base", CgroupBase(h), h)
	}
	for _, root := range sampleRoots {
		add("labs dir", LabsDir(root), root)
		add("locks dir", LocksDir(root), root)
	}
	for _, lab := range sampleLabs {
		add("lab tag", LabTag(lab), lab)
		add("lab netns", LabNetns(lab), lab)
		add("lab netns path", NetnsPath(LabNetns(lab)), lab)
		add("alias prefix", AliasPrefix(lab), lab)
		add("lab chain", LabChain(lab), lab)
		add("rule comment", RuleComment(lab), lab)
		for _, h := range CgroupHierarchies() {
			add("cgroup lab", CgroupLab(h, lab), h, lab)
		}
		for _, root := range sampleRoots {
			add("lab dir", LabDir(root, lab), root, lab)
			add("state file", StatePath(root, lab), root, lab)
			add("hosts file", HostsPath(root, lab), root, lab)
			add("nodes dir", NodesDir(root, lab), root, lab)
			add("lab lock", LockPath(root, lab), root, lab)
			add("claim", ClaimPath(run, root, lab), root, lab)
			for i := range 3 {
				add("control socket", ControlSocket(root, lab, i), root, lab, i)
			}
		}
		for _, b := range sampleBridges {
			for try := range 2 {
				add("bridge device", BridgeDevice(lab, b, try), lab, b, try)
				add("vxlan device", VXLANDevice(lab, b, try), lab, b, try)
			}
			add("bridge alias", BridgeAlias(lab, b), lab, b)
			add("vxlan alias", VXLANAlias(lab, b), lab, b)
			add("bridge mac", BridgeMAC(BridgeAlias(lab, b), ""), lab, b)
			for _, h := range sampleHosts {
				add("bridge mac", BridgeMAC(BridgeAlias(lab, b), h), lab, b, h)
			}
		}
		for _, node := range sampleNodes {
			add("node netns", NodeNetns(lab, node), lab, node)
			add("node netns path", NetnsPath(NodeNetns(lab, node)), lab, node)
			add("init cmdline", strings.Join(InitArgv(lab, node), "\x00"), lab, node)
			for _, h := range CgroupHierarchies() {
				add("cgroup node", CgroupNode(h, lab, node), h, lab, node)
			}
			for _, root := range sampleRoots {
				add("node dir", NodeDir(root, lab, node), root, lab, node)
				add("control link", ControlLink(root, lab, node), root, lab, node)
			}
			for _, ifc := range sampleIfaces {
				for try := range 2 {
					add("port device", PortDevice(lab, node, ifc, try), lab, node, ifc, try)
					add("link device", LinkDevice(lab, node, ifc, try), lab, node, ifc, try)
					add("iface mac", IfaceMAC(lab, node, ifc, try), lab, node, ifc, try)
				}
				add("iface alias", IfaceAlias(lab, node, ifc), lab, node, ifc)
			}
		}
	}
	return out
}

// TestNoTwoKindsShareAName: over every sample, no string is produced by
// two kinds, and within a kind different arguments give different names,
// except LAB-NODE: lab a's node b-c and lab a-b's node c are both a-b-c,
// the SPEC's form, which deploy refuses for the second lab (it checks every
// other lab's claims and the host's /run/netns).
func TestNoTwoKindsShareAName(t *testing.T) {
	seen := map[string]produced{}
	sameKindOK := map[string]bool{"node netns": true, "node netns path": true}
	var netnsClash bool
	for _, p := range everyName() {
		if p.value == "" {
			t.Errorf("%s(%s) is empty", p.kind, p.args)
			continue
		}
		prev, ok := seen[p.value]
		switch {
		case !ok:
			seen[p.value] = p
		case prev.kind != p.kind:
			t.Errorf("%q is both %s(%s) and %s(%s)", p.value, prev.kind, prev.args, p.kind, p.args)
		case prev.args != p.args && sameKindOK[p.kind]:
			netnsClash = true
		case prev.args != p.args:
			t.Errorf("%s(%s) and %s(%s) are both %q", prev.kind, prev.args, p.kind, p.args, p.value)
		}
	}
	if !netnsClash {
		t.Error("the samples never reach the known LAB-NODE overlap: they are not adversarial enough")
	}
}

// TestShapes: the limits the kernel and iptables put on names.
func TestShapes(t *testing.T) {
	mac := regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
	for _, p := range everyName() {
		switch {
		case strings.HasSuffix(p.kind, " device") && (len(p.value) != DeviceLen || len(p.value) > 15):
			t.Errorf("%s(%s) = %q: want %d bytes (IFNAMSIZ 16)", p.kind, p.args, p.value, DeviceLen)
		case strings.HasSuffix(p.kind, " alias") && len(p.value) > 127:
			t.Errorf("%s(%s) = %q: longer than IFALIASZ-1", p.kind, p.args, p.value)
		case p.kind == "lab chain" && len(p.value) > 28:
			t.Errorf("lab chain %q: longer than an iptables chain name may be", p.value)
		case strings.HasSuffix(p.kind, " mac"):
			b, err := strconv.ParseUint(p.value[:2], 16, 8)
			if !mac.MatchString(p.value) || err != nil || b&1 != 0 || b&2 == 0 {
				t.Errorf("%s(%s) = %q: want a locally administered unicast MAC", p.kind, p.args, p.value)
			}
		case strings.Contains(p.kind, "netns") && !strings.Contains(p.kind, "path") && len(p.value) > 255:
			t.Errorf("%s(%s) is %d bytes", p.kind, p.args, len(p.value))
		}
	}
}

// TestParseOfProduce: every name leolab reads back from the host parses to
// what made it.
func TestParseOfProduce(t *testing.T) {
	for _, lab := range sampleLabs {
		if got, ok := LabOfNetns(LabNetns(lab)); !ok || got != lab {
			t.Errorf("LabOfNetns(LabNetns(%q)) = %q, %v", lab, got, ok)
		}
		if got, ok := LabOfAlias(AliasPrefix(lab)); !ok || got != lab {
			t.Errorf("LabOfAlias(AliasPrefix(%q)) = %q, %v", lab, got, ok)
		}
		for _, b := range sampleBridges {
			for _, c := range []struct {
				alias, kind string
			}{{BridgeAlias(lab, b), AliasBridge}, {VXLANAlias(lab, b), AliasVXLAN}} {
				if got, ok := ParseAlias(c.alias); !ok || got != (Alias{Lab: lab, Kind: c.kind, Name: b}) {
					t.Errorf("ParseAlias(%q) = %+v, %v", c.alias, got, ok)
				}
			}
			for try := range 2 {
				for _, c := range []struct{ dev, prefix string }{
					{BridgeDevice(lab, b, try), BridgeDevPrefix}, {VXLANDevice(lab, b, try), VXLANDevPrefix},
				} {
					if p, tag, ok := ParseDevice(c.dev); !ok || p != c.prefix || tag != LabTag(lab) {
						t.Errorf("ParseDevice(%q) = %q, %q, %v", c.dev, p, tag, ok)
					}
				}
			}
		}
		for _, node := range sampleNodes {
			if got, ok := NodeOfNetns(lab, NodeNetns(lab, node)); !ok || got != node {
				t.Errorf("NodeOfNetns(%q, NodeNetns) = %q, %v", lab, got, ok)
			}
			argv := InitArgv(lab, node)
			if l, n, ok := ParseInitArgv(argv); !ok || l != lab || n != node {
				t.Errorf("ParseInitArgv(%q) = %q, %q, %v", argv, l, n, ok)
			}
			cmdline := []byte(strings.Join(argv, "\x00") + "\x00") // as /proc/PID/cmdline has it
			if l, n, ok := ParseInitCmdline(cmdline); !ok || l != lab || n != node {
				t.Errorf("ParseInitCmdline(%q) = %q, %q, %v", cmdline, l, n, ok)
			}
			for _, h := range CgroupHierarchies() {
				if l, n, ok := ParseCgroupNode(h, CgroupNode(h, lab, node)); !ok || l != lab || n != node {
					t.Errorf("ParseCgroupNode(%s) = %q, %q, %v", CgroupNode(h, lab, node), l, n, ok)
				}
			}
			for _, ifc := range sampleIfaces {
				a := IfaceAlias(lab, node, ifc)
				if got, ok := ParseAlias(a); !ok || got != (Alias{Lab: lab, Kind: AliasNode, Node: node, Iface: ifc}) {
					t.Errorf("ParseAlias(%q) = %+v, %v", a, got, ok)
				}
				for try := range 2 {
					for _, c := range []struct{ dev, prefix string }{
						{PortDevice(lab, node, ifc, try), PortDevPrefix}, {LinkDevice(lab, node, ifc, try), LinkDevPrefix},
					} {
						if p, tag, ok := ParseDevice(c.dev); !ok || p != c.prefix || tag != LabTag(lab) {
							t.Errorf("ParseDevice(%q) = %q, %q, %v", c.dev, p, tag, ok)
						}
					}
				}
			}
		}
	}
}

// TestParseRefuses: what is not leolab's is not read as leolab's.
func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "leolab:", "leolab::x", "docker0", "veth1234", "leolabx:a:b"} {
		if lab, ok := LabOfAlias(s); ok {
			t.Errorf("LabOfAlias(%q) = %q", s, lab)
		}
		if a, ok := ParseAlias(s); ok {
			t.Errorf("ParseAlias(%q) = %+v", s, a)
		}
	}
	// An alias of an older leolab (leolab:LAB:NODE:IFACE) still names its
	// lab, so destroy sweeps it, but is no kind of today's.
	if lab, ok := LabOfAlias("leolab:old:h1:eth0"); !ok || lab != "old" {
		t.Errorf("old alias: lab %q, %v", lab, ok)
	}
	if a, ok := ParseAlias("leolab:old:h1:eth0"); ok {
		t.Errorf("old alias parsed as %+v", a)
	}
	for _, s := range []string{"", "leolab.", "a-b", "leolab-x"} {
		if lab, ok := LabOfNetns(s); ok {
			t.Errorf("LabOfNetns(%q) = %q", s, lab)
		}
	}
	if node, ok := NodeOfNetns("a", "a-"); ok {
		t.Errorf("NodeOfNetns(a, a-) = %q", node)
	}
	for _, s := range []string{"", "lb", "lbfc6672154cab0", "lbFC6672154CAB", "lqfc6672154cab", "lbfc6672-54cab", "eth0"} {
		if p, tag, ok := ParseDevice(s); ok {
			t.Errorf("ParseDevice(%q) = %q, %q", s, p, tag)
		}
	}
	for _, s := range []string{"", "leolab-init", "leolab-init\x00a\x00", "leolab-initx\x00a\x00b\x00", "sh\x00a\x00b\x00", "leolab-init\x00\x00b\x00"} {
		if l, n, ok := ParseInitCmdline([]byte(s)); ok {
			t.Errorf("ParseInitCmdline(%q) = %q, %q", s, l, n)
		}
	}
	for _, s := range []string{"/sys/fs/cgroup/leolab/a", "/sys/fs/cgroup/leolab/a/b/c", "/sys/fs/cgroup/other/a/b", "/sys/fs/cgroup/leolab//b"} {
		if l, n, ok := ParseCgroupNode(CgroupMount, s); ok {
			t.Errorf("ParseCgroupNode(%q) = %q, %q", s, l, n)
		}
	}
}

// TestPinned: the schemes running labs were made with. Changing one
// strands what a lab deployed by an older leolab left on the host.
func TestPinned(t *testing.T) {
	sum := sha256.Sum256([]byte("routing/h1/eth0"))
	for _, c := range []struct{ got, want string }{
		{LabTag("routing"), "fc6672"},
		{BridgeDevice("routing", "lan", 0), "lbfc6672154cab"},
		{PortDevice("routing", "h1", "eth0", 0), "lvfc6672" + Hash6("routing/h1/eth0")},
		{PortDevice("routing", "h1", "eth0", 1), "lvfc6672" + Hash6("routing/h1/eth0#1")},
		{LinkDevice("routing", "r1", "eth2", 0), "lpfc6672" + Hash6("routing/link/r1/eth2")},
		{VXLANDevice("routing", "lan", 0), "lxfc6672" + Hash6("vxlan/lan")},
		{IfaceMAC("routing", "h1", "eth0", 0), fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4])},
		{BridgeMAC("leolab:x:bridge:lan", ""), "5a:16:1b:cf:bf:31"}, // FNV-1a 64 of the alias
		{NodeNetns("routing", "r1"), "routing-r1"},
		{LabNetns("routing"), "leolab.routing"},
		{NetnsPath("routing-r1"), "/run/netns/routing-r1"},
		{AliasPrefix("routing"), "leolab:routing:"},
		{BridgeAlias("routing", "lan"), "leolab:routing:bridge:lan"},
		{LabChain("routing"), "LEOLAB-FC6672"},
		{RuleComment("routing"), "leolab:routing"},
		{CgroupNode(CgroupMount, "routing", "r1"), "/sys/fs/cgroup/leolab/routing/r1"},
		{strings.Join(InitArgv("routing", "r1"), " "), "leolab-init routing r1"},
		{StatePath("/r", "l"), "/r/labs/l/state.json"},
		{ControlSocket("/r", "l", 3), "/r/labs/l/s/3"},
		{LockPath("/r", "l"), "/r/locks/l.lock"},
		{ClaimPath("/run/leolab", "/r", "l")[:len("/run/leolab/claims/l@")], "/run/leolab/claims/l@"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if BridgeMAC("leolab:x:bridge:lan", "") == BridgeMAC("leolab:y:bridge:lan", "") ||
		BridgeMAC("leolab:x:bridge:lan", "") == BridgeMAC("leolab:x:bridge:lan", "h1") {
		t.Error("bridge MACs do not differ by lab or by host")
	}
}
