// Package hostnames is the one owner of every name leolab puts on the host:
// node and lab network namespace names and their /run/netns paths, host
// device names and their prefixes, MAC addresses leolab chooses, link
// aliases, iptables chain names and rule comments, cgroup paths, the argv
// of a node's init, and the on-disk layout under a leolab root and /run.
// Each kind is produced here, and where leolab reads it back from the host
// (sweeping, destroy without a state) parsed here too; every other package
// asks this one, so the place a host name is made is this file.
//
// It is a leaf: it imports only the standard library and the two leaf
// packages exec's fast path (internal/quickexec) needs before anything else
// initialises, internal/labdir (the root's lab and node directories) and
// internal/spec/nodespec (the init's argv[0]). Those keep their own
// definitions because this package's crypto/sha256 and strings would delay
// the fast path's initialiser behind the CLI's; the names they own are
// listed here all the same, and nothing else spells them.
package hostnames

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"path"
	"strconv"
	"strings"

	"leolab/internal/labdir"
	"leolab/internal/spec/nodespec"
)

// ---- The lab tag -------------------------------------------------------

// LabTag is 6 lowercase hex characters of sha256(lab): the part of every
// device and chain name that says which lab it belongs to.
func LabTag(lab string) string { return Hash6(lab) }

// Hash6 is 6 lowercase hex characters of sha256(s).
func Hash6(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:3])
}

// seedTry is seed for the first try and seed#N for retry N: how a name
// that collides within one plan is rehashed.
func seedTry(seed string, try int) string {
	if try == 0 {
		return seed
	}
	return seed + "#" + strconv.Itoa(try)
}

// ---- Network namespaces ------------------------------------------------

// NetnsDir is where named network namespaces are registered, as ip-netns(8)
// does it.
const NetnsDir = "/run/netns"

// NetnsPath is the registration of the namespace called name.
func NetnsPath(name string) string { return NetnsDir + "/" + name }

// NodeNetns is the name `ip netns` shows for a node's network namespace:
// LAB-NODE (SPEC). Two labs can give the same string (a-b/c and a/b-c):
// deploy refuses the second one.
func NodeNetns(lab, node string) string { return lab + "-" + node }

// NodeOfNetns is the node whose namespace name is name in lab, if name has
// that form.
func NodeOfNetns(lab, name string) (node string, ok bool) {
	node, ok = strings.CutPrefix(name, lab+"-")
	return node, ok && node != ""
}

// LabNetnsPrefix starts the name of every lab namespace.
const LabNetnsPrefix = "leolab."

// LabNetns is the private network namespace holding an isolated lab's
// bridges. Its "." can never appear in a lab or node name, so it never
// equals a node's LAB-NODE, whatever the two labs are called.
func LabNetns(lab string) string { return LabNetnsPrefix + lab }

// LabOfNetns is the lab whose lab namespace is called name.
func LabOfNetns(name string) (lab string, ok bool) {
	lab, ok = strings.CutPrefix(name, LabNetnsPrefix)
	return lab, ok && lab != ""
}

// ---- Host devices -------------------------------------------------------

// Prefixes of the host-side device names a lab creates; sweeping relies on
// them. Every name is prefix + LabTag + 6 hex digits: 14 bytes.
const (
	BridgeDevPrefix = "lb" // a lab bridge
	PortDevPrefix   = "lv" // host end of a bridge port's veth
	LinkDevPrefix   = "lp" // temporary name of a link's veth end
	VXLANDevPrefix  = "lx" // a bridge's VXLAN port
)

// DeviceLen is the length of every device name leolab creates.
const DeviceLen = 14

func device(prefix, lab, seed string, try int) string {
	return prefix + LabTag(lab) + Hash6(seedTry(seed, try))
}

// BridgeDevice is the device of lab's bridge; try > 0 rehashes it when it
// collides with another name of the plan (the plan keeps the first free).
func BridgeDevice(lab, bridge string, try int) string {
	return device(BridgeDevPrefix, lab, lab+"/bridge/"+bridge, try)
}

// PortDevice is the host end of the veth joining node's iface to its bridge.
func PortDevice(lab, node, iface string, try int) string {
	return device(PortDevPrefix, lab, lab+"/"+node+"/"+iface, try)
}

// LinkDevice is the temporary host-side name of the veth end that becomes
// node's iface on a point-to-point link.
func LinkDevice(lab, node, iface string, try int) string {
	return device(LinkDevPrefix, lab, lab+"/link/"+node+"/"+iface, try)
}

// VXLANDevice is the VXLAN port of lab's bridge that spans hosts.
func VXLANDevice(lab, bridge string, try int) string {
	return device(VXLANDevPrefix, lab, "vxlan/"+bridge, try)
}

// ParseDevice splits a leolab device name into its prefix and lab tag.
func ParseDevice(name string) (prefix, tag string, ok bool) {
	if len(name) != DeviceLen || !isLowerHex(name[2:]) {
		return "", "", false
	}
	switch p := name[:2]; p {
	case BridgeDevPrefix, PortDevPrefix, LinkDevPrefix, VXLANDevPrefix:
		return p, name[2:8], true
	}
	return "", "", false
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// ---- MAC addresses ------------------------------------------------------

// IfaceMAC is the MAC of node's iface: 02: + 5 bytes of sha256, locally
// administered and unicast; try > 0 rehashes it as for devices.
func IfaceMAC(lab, node, iface string, try int) string {
	sum := sha256.Sum256([]byte(seedTry(lab+"/"+node+"/"+iface, try)))
	return formatMAC(append([]byte{0x02}, sum[:5]...))
}

// BridgeMAC is the fixed MAC of a bridge, from its alias (FNV-1a), so a
// redeployed lab's gateway keeps its MAC. host is the leolab host a bridge
// spanning hosts is on ("" otherwise): each host's bridge of one segment
// needs its own MAC, or a host takes frames for another's as its own.
func BridgeMAC(alias, host string) string {
	seed := alias
	if host != "" {
		seed += "@" + host
	}
	h := fnv.New64a()
	h.Write([]byte(seed))
	sum := h.Sum(nil)[:6]
	sum[0] = sum[0]&0xfe | 0x02
	return formatMAC(sum)
}

func formatMAC(b []byte) string {
	out := make([]byte, 0, 17)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = hex.AppendEncode(out, []byte{c})
	}
	return string(out)
}

// ---- Link aliases -------------------------------------------------------

// aliasHead starts every alias; the lab follows, then the kind.
const aliasHead = "leolab:"

// Kinds of alias: the third field. A node's interface has "node" there, so
// no node or bridge name can make one kind read as another.
const (
	AliasBridge = "bridge"
	AliasVXLAN  = "vxlan"
	AliasNode   = "node"
)

// AliasPrefix is the prefix of the alias of every host device of the lab:
// leolab:LAB: (SPEC). Destroy deletes what carries it when the state is lost.
func AliasPrefix(lab string) string { return aliasHead + lab + ":" }

// BridgeAlias is the alias of lab's bridge: leolab:LAB:bridge:NAME.
func BridgeAlias(lab, bridge string) string { return AliasPrefix(lab) + AliasBridge + ":" + bridge }

// VXLANAlias is the alias of a bridge's VXLAN port: leolab:LAB:vxlan:NAME.
func VXLANAlias(lab, bridge string) string { return AliasPrefix(lab) + AliasVXLAN + ":" + bridge }

// IfaceAlias is the alias of the host-side device of node's iface:
// leolab:LAB:node:NODE:IFACE.
func IfaceAlias(lab, node, iface string) string {
	return AliasPrefix(lab) + AliasNode + ":" + node + ":" + iface
}

// Alias is a parsed alias: Name is the bridge of a bridge or VXLAN alias,
// Node and Iface those of a node's interface.
type Alias struct {
	Lab, Kind         string
	Name, Node, Iface string
}

// ParseAlias reads back any alias leolab produces.
func ParseAlias(alias string) (Alias, bool) {
	lab, ok := LabOfAlias(alias)
	if !ok {
		return Alias{}, false
	}
	kind, rest, ok := strings.Cut(strings.TrimPrefix(alias, AliasPrefix(lab)), ":")
	if !ok || rest == "" {
		return Alias{}, false
	}
	a := Alias{Lab: lab, Kind: kind}
	switch kind {
	case AliasBridge, AliasVXLAN:
		a.Name = rest
		return a, !strings.Contains(rest, ":")
	case AliasNode:
		a.Node, a.Iface, ok = strings.Cut(rest, ":")
		return a, ok && a.Node != "" && a.Iface != "" && !strings.Contains(a.Iface, ":")
	}
	return Alias{}, false
}

// LabOfAlias is the lab of an alias with leolab's prefix, of any kind and of
// any leolab version (older ones had leolab:LAB:NODE:IFACE).
func LabOfAlias(alias string) (string, bool) {
	rest, ok := strings.CutPrefix(alias, aliasHead)
	if !ok {
		return "", false
	}
	lab, _, ok := strings.Cut(rest, ":")
	return lab, ok && lab != ""
}

// ---- iptables -----------------------------------------------------------

// ChainPrefix starts the name of every iptables chain leolab creates.
const ChainPrefix = "LEOLAB-"

// LabChain is the name of the lab's iptables (and ip6tables) chain. The one
// name is used in two tables: in nat it holds the masquerade rules, in
// filter the ACCEPTs for traffic through the lab's bridges. Its lab cannot
// be read back (it is a hash): owners are found by producing it.
func LabChain(lab string) string { return ChainPrefix + strings.ToUpper(LabTag(lab)) }

// RuleComment is the comment on every iptables rule of the lab.
func RuleComment(lab string) string { return aliasHead + lab }

// ---- cgroups ------------------------------------------------------------

// CgroupMount is where the host's cgroup hierarchies are mounted.
const CgroupMount = "/sys/fs/cgroup"

// CgroupV2Hierarchies are where a cgroup2 hierarchy may be mounted: the
// root on a v2 host, unified/ on a hybrid one.
func CgroupV2Hierarchies() []string { return []string{CgroupMount, CgroupMount + "/unified"} }

// CgroupV1Hierarchies are the v1 controllers a node gets a cgroup in.
func CgroupV1Hierarchies() []string {
	return []string{CgroupMount + "/memory", CgroupMount + "/pids", CgroupMount + "/cpu"}
}

// CgroupHierarchies is every hierarchy a node cgroup may be made in.
func CgroupHierarchies() []string { return append(CgroupV2Hierarchies(), CgroupV1Hierarchies()...) }

// CgroupBase is leolab's cgroup in a hierarchy, parent of every lab's.
func CgroupBase(hierarchy string) string { return path.Join(hierarchy, "leolab") }

// CgroupLab is lab's cgroup in a hierarchy, parent of its nodes'.
func CgroupLab(hierarchy, lab string) string { return path.Join(CgroupBase(hierarchy), lab) }

// CgroupNode is node's cgroup in a hierarchy.
func CgroupNode(hierarchy, lab, node string) string {
	return path.Join(CgroupLab(hierarchy, lab), node)
}

// ParseCgroupNode reads lab and node back from a CgroupNode path.
func ParseCgroupNode(hierarchy, dir string) (lab, node string, ok bool) {
	rest, ok := strings.CutPrefix(dir, CgroupBase(hierarchy)+"/")
	if !ok {
		return "", "", false
	}
	lab, node, ok = strings.Cut(rest, "/")
	return lab, node, ok && lab != "" && node != "" && !strings.Contains(node, "/")
}

// ---- A node's init ------------------------------------------------------

// InitArg0 is the argv[0] every node's init runs with (ps shows it); the
// constant lives in nodespec for exec's fast path and the init program.
const InitArg0 = nodespec.InitArg0

// InitArgv is the argv of lab's node init: leolab-init LAB NODE. Destroy
// finds inits no state mentions by it.
func InitArgv(lab, node string) []string { return []string{InitArg0, lab, node} }

// ParseInitArgv reads lab and node back from an init's argv.
func ParseInitArgv(argv []string) (lab, node string, ok bool) {
	if len(argv) < 3 || argv[0] != InitArg0 || argv[1] == "" || argv[2] == "" {
		return "", "", false
	}
	return argv[1], argv[2], true
}

// ParseInitCmdline is ParseInitArgv of /proc/PID/cmdline's contents.
func ParseInitCmdline(cmdline []byte) (lab, node string, ok bool) {
	if !strings.HasPrefix(string(cmdline), InitArg0+"\x00") {
		return "", "", false
	}
	return ParseInitArgv(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"))
}

// ---- On disk: a leolab root ---------------------------------------------

// DefaultRoot is the data and state directory when neither --root nor
// LEOLAB_ROOT is given.
const DefaultRoot = labdir.DefaultRoot

// LabsDir holds one directory per deployed lab.
func LabsDir(root string) string { return labdir.Labs(root) }

// LabDir is a lab's directory: its state, sockets and nodes.
func LabDir(root, lab string) string { return labdir.Lab(root, lab) }

// StatePath is the lab's state file.
func StatePath(root, lab string) string { return path.Join(LabDir(root, lab), "state.json") }

// HostsPath is the lab's shared /etc/hosts.
func HostsPath(root, lab string) string { return path.Join(LabDir(root, lab), "hosts") }

// NodesDir holds the lab's node directories.
func NodesDir(root, lab string) string { return path.Join(LabDir(root, lab), "nodes") }

// NodeDir is where a node's layer, console log and working files live.
func NodeDir(root, lab, node string) string { return labdir.Node(root, lab, node) }

// ControlLink, in the node's directory, points at its control socket.
func ControlLink(root, lab, node string) string { return labdir.ControlLink(root, lab, node) }

// ControlSocket is the node's control socket. It is named by the node's
// index, not its name, because unix socket paths are limited to 107 bytes.
func ControlSocket(root, lab string, index int) string {
	return path.Join(LabDir(root, lab), "s", strconv.Itoa(index))
}

// LocksDir holds one lock file per lab.
func LocksDir(root string) string { return path.Join(root, "locks") }

// LockPath is the lab's lock file.
func LockPath(root, lab string) string { return path.Join(LocksDir(root), lab+".lock") }

// ---- On disk: host-wide, under /run ---------------------------------------

// HostRunDir holds what all leolab roots on the host share; on tmpfs, it
// dies with the boot like the kernel objects it describes.
const HostRunDir = "/run/leolab"

// ClaimsDir holds one claim per deployed lab, whatever its root.
func ClaimsDir(run string) string { return path.Join(run, "claims") }

// ClaimPath is the claim of lab under root: the lab name and a digest of
// its root, so labs of one name under two roots have two claims.
func ClaimPath(run, root, lab string) string {
	sum := sha256.Sum256([]byte(root))
	return path.Join(ClaimsDir(run), lab+"@"+hex.EncodeToString(sum[:6])+".json")
}

// HostLockPath is the host-wide lock deploys plan under.
func HostLockPath(run string) string { return path.Join(run, "ipam.lock") }

// SavedForwardPath holds net.ipv4.ip_forward from before the first NAT lab;
// SavedForward6Path net.ipv6.conf.all.forwarding before the first NAT66 one.
func SavedForwardPath(run string) string  { return path.Join(run, "ip_forward.saved") }
func SavedForward6Path(run string) string { return path.Join(run, "ip6_forward.saved") }
