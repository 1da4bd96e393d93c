package topology

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kathará compatibility: a lab directory (lab.conf, DEV.startup,
// DEV.shutdown, DEV/, shared/, shared.startup, shared.shutdown, lab.dep) is
// translated into leolab's raw structs like a containerlab file, every value
// keeping its place in lab.conf (or lab.dep) for errors. What leolab cannot
// do is an error naming the option, never dropped. The mapping:
//   - dev[N]="CD" or "CD/MAC": interface ethN of dev on a bridge named after
//     the collision domain, with no address and no gateway (Kathará labs
//     address their interfaces in startup files); a given MAC is kept.
//   - every device gets Kathará's per-device sysctls (forwarding on,
//     rp_filter off, no ICMP rate limit; IPv6 off unless ipv6=true) and
//     Kathará's capabilities; the lab directory is bound read-only at
//     /hostlab, shared/ read-write at /shared; DEV/ is laid over the node's
//     root (copied into its own writable layer: the host files stay as they
//     are); shared.startup then DEV.startup then the device's exec options
//     run once networking is up, in lab.dep order; DEV.shutdown then
//     shared.shutdown run at destroy.
//   - image: kathara/base (the default) and kathara/frr become Debian root
//     filesystems (katharaImages); any other kathara/ image is an error;
//     other images are pulled (docker://).
//   - mem and cpus become limits, sysctl and env carry over, privileged,
//     volume (HOST|GUEST|MODE) becomes a bind, bridged adds an interface on
//     a NAT bridge with the default route through it, entrypoint and args
//     become cmd. shell and num_terms only choose Kathará's terminals and
//     have no effect; port and ulimit are errors.

// KatharaConf is the file that makes a directory a Kathará lab.
const KatharaConf = "lab.conf"

// KatharaBaseImage is Kathará's default device image.
const KatharaBaseImage = "kathara/base"

// katharaBasePackages is what leolab installs for kathara/base: the network
// tools Kathará's base image is used for in its teaching labs.
var katharaBasePackages = []string{
	"iproute2", "iputils-ping", "traceroute", "tcpdump", "curl", "netcat-openbsd",
	"dnsutils", "iperf3", "net-tools", "procps", "iptables", "ethtool", "arping",
}

// katharaImages maps Kathará's images to the root filesystems leolab
// builds instead (Debian 12 from the host's apt sources).
func katharaImages() map[string]string {
	base := "debian:bookworm+" + strings.Join(katharaBasePackages, "+")
	return map[string]string{
		"kathara/base": base,
		"kathara/frr":  base + "+frr",
		"kathara/bind": base + "+bind9",
	}
}

// KatharaImageRootfs returns the leolab rootfs for a Kathará image name
// (tag ignored), and whether leolab provides it.
func KatharaImageRootfs(image string) (string, bool) {
	name, _, _ := strings.Cut(image, ":")
	r, ok := katharaImages()[name]
	return r, ok
}

// katharaCaps is what Kathará grants every non-privileged device on top of
// the container defaults.
var katharaCaps = []string{"NET_ADMIN", "NET_RAW", "NET_BROADCAST", "NET_BIND_SERVICE", "SYS_ADMIN"}

// KatharaLabDir returns the lab directory when path is a Kathará lab: a
// directory holding lab.conf, or a lab.conf file itself.
func KatharaLabDir(path string) (string, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, KatharaConf)); err == nil {
			return path, true
		}
		return "", false
	}
	if filepath.Base(path) == KatharaConf {
		return filepath.Dir(path), true
	}
	return "", false
}

// katharaDev is one device as lab.conf and the directory describe it.
type katharaDev struct {
	name    sval
	ifaces  map[int]katharaIface
	options map[string][]sval // option → values in file order (sysctl, env repeat)
}

type katharaIface struct {
	num int
	cd  sval
	mac sval
	at  pos
}

// KatharaExtras is what a Kathará lab needs beyond leolab's own format,
// applied to the resolved plan's nodes.
type katharaExtras struct {
	macs     map[string]map[string]string // node → iface → MAC
	overlay  map[string]string            // node → DEV/ directory
	shutdown map[string][]string          // node → commands at destroy
	after    map[string][]string          // node → nodes whose startup runs first
}

var (
	katharaLineRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([a-z0-9_]{1,30})\[(\w+)\]=(?:"([^"]*)"|'([^']*)'|([^"'\s#]*))\s*(#.*)?$`)
	})
	katharaMetaRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^LAB_(NAME|DESCRIPTION|VERSION|AUTHOR|EMAIL|WEB)=(.*)$`)
	})
	katharaDepRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\w+):\s*((?:\w+\s*)+)$`)
	})
	katharaDevRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_]{1,30}$`) })
	cdNameRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\w+$`) })
)

// kathara is one translation in progress.
type kathara struct {
	*decoder
	dir     string
	opts    Options
	meta    map[string]sval
	devs    []*katharaDev
	byName  map[string]*katharaDev
	out     *rawFile
	extras  *katharaExtras
	bridges map[string]*rawBridge
}

// decodeKathara reads the lab.conf contents data of the lab in dir.
func (d *decoder) decodeKathara(dir string, data []byte, opts Options) *rawFile {
	k := &kathara{decoder: d, dir: dir, opts: opts, meta: map[string]sval{}, byName: map[string]*katharaDev{},
		out: &rawFile{}, bridges: map[string]*rawBridge{},
		extras: &katharaExtras{macs: map[string]map[string]string{}, overlay: map[string]string{},
			shutdown: map[string][]string{}, after: map[string][]string{}}}
	k.out.kathara = k.extras
	k.parseConf(data)
	k.addFolderDevices()
	k.out.name = k.labName()
	for _, dev := range k.devs {
		k.translate(dev)
	}
	k.parseDeps()
	return k.out
}

func (k *kathara) parseConf(data []byte) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), MaxFileSize)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		col := len(text) - len(strings.TrimLeft(text, " \t")) + 1
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		at := pos{line, col}
		if m := katharaMetaRE().FindStringSubmatch(trimmed); m != nil {
			k.meta[m[1]] = sval{v: unquote(strings.TrimSpace(m[2])), pos: pos{line, col + len("LAB_"+m[1]+"=")}, set: true}
			continue
		}
		m := katharaLineRE().FindStringSubmatch(trimmed)
		if m == nil {
			k.errAt(at, "not a Kathará line (DEVICE[N]=\"DOMAIN\", DEVICE[option]=VALUE or LAB_…=VALUE): %q", trimmed)
			continue
		}
		value := m[3] + m[4] + m[5]
		valueAt := pos{line, col + strings.Index(trimmed, "=") + 1}
		k.assign(sval{v: m[1], pos: at, set: true}, m[2], sval{v: value, pos: valueAt, set: true})
	}
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// device returns the device named name, adding it in order of appearance.
func (k *kathara) device(name sval) *katharaDev {
	if dev := k.byName[name.v]; dev != nil {
		return dev
	}
	dev := &katharaDev{name: name, ifaces: map[int]katharaIface{}, options: map[string][]sval{}}
	k.byName[name.v] = dev
	k.devs = append(k.devs, dev)
	return dev
}

func (k *kathara) assign(name sval, arg string, value sval) {
	if name.v == "shared" || name.v == "_test" {
		k.errAt(name.pos, "%q is a reserved name in Kathará labs and cannot be a device", name.v)
		return
	}
	dev := k.device(name)
	num, err := strconv.Atoi(arg)
	if err != nil {
		dev.options[arg] = append(dev.options[arg], value)
		return
	}
	cd, mac, _ := strings.Cut(value.v, "/")
	ifc := katharaIface{num: num, cd: sval{v: cd, pos: value.pos, set: true}, at: name.pos}
	if mac != "" {
		ifc.mac = sval{v: mac, pos: value.pos, set: true}
	}
	switch {
	case num < 0 || num > 999:
		k.errAt(name.pos, "device %s: interface number %d is out of range", name.v, num)
	case !cdNameRE().MatchString(cd):
		k.errAt(value.pos, "device %s: collision domain %q must be letters, digits and _", name.v, cd)
	case strings.Count(value.v, "/") > 1:
		k.errAt(value.pos, "device %s: %q is not DOMAIN or DOMAIN/MAC", name.v, value.v)
	default:
		if _, dup := dev.ifaces[num]; dup {
			k.errAt(name.pos, "device %s: interface eth%d is assigned twice", name.v, num)
		}
		dev.ifaces[num] = ifc
	}
}

// addFolderDevices adds devices that only have a directory in the lab (as
// Kathará does), after those of lab.conf, in name order.
func (k *kathara) addFolderDevices() {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "shared" || e.Name() == "_test" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !katharaDevRE().MatchString(e.Name()) {
			continue // not a device name Kathará would take: some other folder
		}
		k.device(sval{v: e.Name(), pos: pos{1, 1}, set: true})
	}
}

// labName is LAB_NAME when it is a valid leolab name, else the directory's
// name made valid; deploy --name replaces either (resolver).
func (k *kathara) labName() sval {
	if n, ok := k.meta["NAME"]; ok && labNameRE().MatchString(n.v) {
		return n
	}
	return sval{v: validLabName(filepath.Base(k.dir)), pos: pos{1, 1}, set: true}
}

// validLabName lowercases s and turns it into ^[a-z][a-z0-9-]{0,19}$.
func validLabName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "lab-" + name
	}
	if len(name) > 20 {
		name = strings.TrimRight(name[:20], "-")
	}
	return name
}

// bridgeName is the leolab bridge of collision domain cd.
func bridgeName(cd string) string {
	name := strings.ReplaceAll(cd, "_", "-")
	if name[0] < 'A' || name[0] > 'z' || (name[0] > 'Z' && name[0] < 'a') {
		name = "cd-" + name
	}
	return name
}

// translate turns one device into a node, its bridges and its extras.
func (k *kathara) translate(dev *katharaDev) {
	if !nodeNameRE().MatchString(dev.name.v) {
		k.errAt(dev.name.pos, "device name %q cannot be a leolab node name (letters, digits and -, starting with a letter)", dev.name.v)
		return
	}
	rn := &rawNode{name: dev.name}
	k.interfaces(dev, rn)
	k.image(dev, rn)
	k.options(dev, rn)
	k.files(dev, rn)
	k.out.nodes = append(k.out.nodes, rn)
}

func (k *kathara) interfaces(dev *katharaDev, rn *rawNode) {
	nums := make([]int, 0, len(dev.ifaces))
	for n := range dev.ifaces {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, num := range nums {
		ifc := dev.ifaces[num]
		name := "eth" + strconv.Itoa(num)
		b := k.bridgeOf(ifc.cd)
		rn.interfaces = append(rn.interfaces, &rawIface{
			name:   sval{v: name, pos: ifc.at, set: true},
			bridge: sval{v: b.name.v, pos: ifc.cd.pos, set: true},
			ipv4:   sval{v: "none", pos: ifc.cd.pos, set: true},
		})
		if ifc.mac.set {
			if mac, ok := unicastMAC(ifc.mac.v); !ok {
				k.errAt(ifc.mac.pos, "device %s: %q is not a unicast MAC address like 02:00:00:00:00:01", dev.name.v, ifc.mac.v)
			} else {
				if k.extras.macs[dev.name.v] == nil {
					k.extras.macs[dev.name.v] = map[string]string{}
				}
				k.extras.macs[dev.name.v][name] = mac
			}
		}
	}
}

// unicastMAC returns s, six hex pairs split by ':' or '-', in leolab's
// form (lowercase, ':'), when it is a unicast MAC address. (Not net.ParseMAC:
// package net would bring cgo's resolver into every binary that uses
// topology, and with it per-thread syscalls the node init cannot do.)
func unicastMAC(s string) (string, bool) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '-' })
	if len(parts) != 6 || len(s) != 17 {
		return "", false
	}
	for i, p := range parts {
		b, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 || i == 0 && b&1 == 1 {
			return "", false
		}
	}
	return strings.ToLower(strings.Join(parts, ":")), true
}

// bridgeOf returns the bridge of collision domain cd, creating it: a plain
// switch, no host address.
func (k *kathara) bridgeOf(cd sval) *rawBridge {
	name := bridgeName(cd.v)
	if b := k.bridges[name]; b != nil {
		return b
	}
	b := &rawBridge{name: sval{v: name, pos: cd.pos, set: true}, gateway: bval{v: false, pos: cd.pos, set: true}}
	k.bridges[name] = b
	k.out.bridges = append(k.out.bridges, b)
	return b
}

func (k *kathara) image(dev *katharaDev, rn *rawNode) {
	img := sval{v: KatharaBaseImage, pos: dev.name.pos, set: true}
	if vs := dev.options["image"]; len(vs) > 0 {
		img = vs[len(vs)-1]
	}
	if i := matchImage(k.opts.Images, img.v); i >= 0 {
		rn.rootfs = sval{v: k.opts.Images[i].Rootfs, pos: img.pos, set: true}
		return
	}
	if r, ok := KatharaImageRootfs(img.v); ok {
		rn.rootfs = sval{v: r, pos: img.pos, set: true}
		return
	}
	if strings.HasPrefix(img.v, "kathara/") {
		k.errAt(img.pos, "device %s: image %s has no leolab root filesystem; map it with --image '%s=ROOTFS' (e.g. a debian:bookworm+PACKAGES rootfs)", dev.name.v, img.v, img.v)
		return
	}
	rn.rootfs = sval{v: "docker://" + img.v, pos: img.pos, set: true}
}

// katharaSysctls are Kathará's defaults for every device.
func katharaSysctls(ipv6 bool, ifaces []string) [][2]string {
	out := [][2]string{
		{"net.ipv4.ip_forward", "1"},
		{"net.ipv4.icmp_ratelimit", "0"},
		{"net.ipv4.conf.all.rp_filter", "0"},
		{"net.ipv4.conf.default.rp_filter", "0"},
		{"net.ipv4.conf.lo.rp_filter", "0"},
	}
	for _, i := range ifaces {
		out = append(out, [2]string{"net.ipv4.conf." + i + ".rp_filter", "0"})
	}
	if !ipv6 {
		return append(out, [2]string{"net.ipv6.conf.all.disable_ipv6", "1"}, [2]string{"net.ipv6.conf.default.disable_ipv6", "1"})
	}
	out = append(out,
		[2]string{"net.ipv6.conf.all.disable_ipv6", "0"}, [2]string{"net.ipv6.conf.default.disable_ipv6", "0"},
		[2]string{"net.ipv6.conf.all.forwarding", "1"}, [2]string{"net.ipv6.conf.all.accept_ra", "0"},
		[2]string{"net.ipv6.icmp.ratelimit", "0"})
	for _, i := range ifaces {
		// leolab turns automatic IPv6 off on its links; ipv6=true wants
		// link-local addresses back (routing daemons need them).
		out = append(out, [2]string{"net.ipv6.conf." + i + ".addr_gen_mode", "0"})
	}
	return out
}

// options translates a device's lab.conf options.
func (k *kathara) options(dev *katharaDev, rn *rawNode) {
	last := func(key string) (sval, bool) {
		vs := dev.options[key]
		if len(vs) == 0 {
			return sval{}, false
		}
		return vs[len(vs)-1], true
	}
	ipv6 := false
	if v, ok := last("ipv6"); ok {
		ipv6 = k.flag(dev, "ipv6", v)
	}
	var ifaces []string
	for _, ifc := range rn.interfaces {
		ifaces = append(ifaces, ifc.name.v)
	}
	if v, ok := last("bridged"); ok && k.flag(dev, "bridged", v) {
		ifaces = append(ifaces, k.bridged(dev, rn, v))
	}
	defaults := map[string]bool{}
	for _, s := range katharaSysctls(ipv6, ifaces) {
		rn.sysctls = append(rn.sysctls, kv{key: sval{v: s[0], pos: dev.name.pos, set: true}, value: sval{v: s[1], pos: dev.name.pos, set: true}})
		defaults[s[0]] = true
	}
	for _, v := range dev.options["sysctl"] {
		key, val, ok := strings.Cut(v.v, "=")
		if !ok {
			k.errAt(v.pos, "device %s: sysctl %q is not KEY=VALUE", dev.name.v, v.v)
			continue
		}
		rn.sysctls = setKV(rn.sysctls, kv{key: sval{v: strings.TrimSpace(key), pos: v.pos, set: true}, value: sval{v: strings.TrimSpace(val), pos: v.pos, set: true}})
	}
	for _, v := range dev.options["env"] {
		key, val, ok := strings.Cut(v.v, "=")
		if !ok {
			k.errAt(v.pos, "device %s: env %q is not KEY=VALUE", dev.name.v, v.v)
			continue
		}
		rn.env = setKV(rn.env, kv{key: sval{v: key, pos: v.pos, set: true}, value: sval{v: val, pos: v.pos, set: true}})
	}
	if v, ok := last("mem"); ok {
		rn.limits.memory = sval{v: strings.TrimRight(strings.ToUpper(v.v), "B"), pos: v.pos, set: true}
	}
	if v, ok := last("cpus"); ok {
		rn.limits.cpus = v
	}
	if v, ok := last("privileged"); ok {
		rn.privileged = bval{v: k.flag(dev, "privileged", v), pos: v.pos, set: true}
	}
	if !rn.privileged.v {
		rn.caps = &rawCaps{at: dev.name.pos}
		for _, c := range katharaCaps {
			rn.caps.add = append(rn.caps.add, sval{v: c, pos: dev.name.pos, set: true})
		}
	}
	for _, v := range dev.options["volume"] {
		k.volume(dev, rn, v)
	}
	k.command(dev, rn)
	for _, key := range []string{"port", "ulimit"} {
		for _, v := range dev.options[key] {
			k.errAt(v.pos, "device %s: option %s is not supported by leolab", dev.name.v, key)
		}
	}
	known := map[string]bool{"image": true, "ipv6": true, "bridged": true, "sysctl": true, "env": true, "mem": true,
		"cpus": true, "privileged": true, "volume": true, "exec": true, "entrypoint": true, "args": true,
		"port": true, "ulimit": true, "shell": true, "num_terms": true}
	for key, vs := range dev.options {
		if !known[key] {
			k.errAt(vs[0].pos, "device %s: unknown Kathará option %q", dev.name.v, key)
		}
	}
}

// setKV replaces the entry of x's key in list, or appends x.
func setKV(list []kv, x kv) []kv {
	for i := range list {
		if list[i].key.v == x.key.v {
			list[i] = x
			return list
		}
	}
	return append(list, x)
}

func (k *kathara) flag(dev *katharaDev, key string, v sval) bool {
	switch strings.ToLower(v.v) {
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	k.errAt(v.pos, "device %s: %s=%q is not true or false", dev.name.v, key, v.v)
	return false
}

// katharaNATBridge is the bridge bridged=true devices reach the outside by.
const katharaNATBridge = "kathara-nat"

// bridged gives dev an interface after its others on a NAT bridge, with the
// default route through the host (Docker's bridge network does the same).
func (k *kathara) bridged(dev *katharaDev, rn *rawNode, v sval) string {
	b := k.bridges[katharaNATBridge]
	if b == nil {
		b = &rawBridge{name: sval{v: katharaNATBridge, pos: v.pos, set: true}, nat: bval{v: true, pos: v.pos, set: true}, natKey: v.pos}
		k.bridges[katharaNATBridge] = b
		k.out.bridges = append(k.out.bridges, b)
	}
	next := 0
	for n := range dev.ifaces {
		if n >= next {
			next = n + 1
		}
	}
	name := "eth" + strconv.Itoa(next)
	rn.interfaces = append(rn.interfaces, &rawIface{name: sval{v: name, pos: v.pos, set: true}, bridge: sval{v: katharaNATBridge, pos: v.pos, set: true}})
	rn.gateway = sval{v: katharaNATBridge, pos: v.pos, set: true}
	return name
}

// volume is HOST|GUEST|MODE.
func (k *kathara) volume(dev *katharaDev, rn *rawNode, v sval) {
	parts := strings.Split(v.v, "|")
	if len(parts) != 3 || (parts[2] != "ro" && parts[2] != "rw") {
		k.errAt(v.pos, "device %s: volume %q is not HOST|GUEST|ro or HOST|GUEST|rw", dev.name.v, v.v)
		return
	}
	rn.binds = append(rn.binds, sval{v: parts[0] + ":" + parts[1] + ":" + parts[2], pos: v.pos, set: true})
	rn.bindsSet = true
}

// command makes entrypoint and args the node's cmd.
func (k *kathara) command(dev *katharaDev, rn *rawNode) {
	var words []string
	var at pos
	for _, key := range []string{"entrypoint", "args"} {
		if vs := dev.options[key]; len(vs) > 0 {
			words = append(words, vs[len(vs)-1].v)
			if at == (pos{}) {
				at = vs[len(vs)-1].pos
			}
		}
	}
	if len(words) == 0 {
		return
	}
	rn.cmd = []sval{{v: "/bin/sh", pos: at, set: true}, {v: "-c", pos: at, set: true}, {v: strings.Join(words, " "), pos: at, set: true}}
	rn.cmdSet = true
}

// files binds the lab at /hostlab and shared/ at /shared, lays DEV/ over
// the root, and turns the startup and shutdown files into commands.
func (k *kathara) files(dev *katharaDev, rn *rawNode) {
	at := dev.name.pos
	rn.binds = append(rn.binds, sval{v: k.dir + ":/hostlab:ro", pos: at, set: true})
	if isDir(filepath.Join(k.dir, "shared")) {
		rn.binds = append(rn.binds, sval{v: filepath.Join(k.dir, "shared") + ":/shared:rw", pos: at, set: true})
	}
	rn.bindsSet = true
	name := dev.name.v
	if isDir(filepath.Join(k.dir, name)) {
		k.extras.overlay[name] = filepath.Join(k.dir, name)
	}
	// One exec for the preparation (each costs a round trip to the node):
	// FRR reads its files as user frr (Kathará's images chown them too), and
	// startup files may say systemctl.
	exec := []string{"if [ -d /etc/frr ] && id frr >/dev/null 2>&1; then chown -R frr:frr /etc/frr; fi\n" + systemctlShimLine}
	for _, f := range []string{"shared.startup", name + ".startup"} {
		if line, ok := k.script(f); ok {
			exec = append(exec, line)
		}
	}
	for _, v := range dev.options["exec"] {
		exec = append(exec, v.v)
	}
	for _, line := range exec {
		rn.exec = append(rn.exec, sval{v: line, pos: at, set: true})
	}
	rn.execSet = true
	for _, f := range []string{name + ".shutdown", "shared.shutdown"} {
		if line, ok := k.script(f); ok {
			k.extras.shutdown[name] = append(k.extras.shutdown[name], line)
		}
	}
}

// systemctlShim is the systemctl of a node without systemd: Kathará's
// startup files say "systemctl start frr"; this runs the service's
// /etc/init.d script instead.
const systemctlShim = `#!/bin/sh
# leolab: systemctl for nodes without systemd, through /etc/init.d scripts.
act=$1
[ $# -gt 0 ] && shift
case "$act" in
start|stop|restart|reload|force-reload|status) ;;
enable|disable|daemon-reload|mask|unmask) exit 0 ;;
is-active)
	for u in "$@"; do /etc/init.d/"${u%.service}" status >/dev/null 2>&1 || exit 3; done
	exit 0 ;;
*) echo "systemctl: $act is not supported in a leolab node (services run from /etc/init.d)" >&2; exit 1 ;;
esac
rc=0
for u in "$@"; do
	s=${u%.service}
	if [ -x "/etc/init.d/$s" ]; then
		"/etc/init.d/$s" "$act" || rc=$?
	else
		echo "systemctl: no service $s (/etc/init.d/$s)" >&2
		rc=5
	fi
done
exit $rc
`

// systemctlShimLine installs systemctlShim where the image has none.
var systemctlShimLine = "command -v systemctl >/dev/null 2>&1 || { mkdir -p /usr/local/bin && cat > /usr/local/bin/systemctl <<'LEOLAB_EOF'\n" +
	systemctlShim + "LEOLAB_EOF\nchmod 755 /usr/local/bin/systemctl; }"

// script returns the command that runs lab file f inside a node: by its
// #! interpreter, else sh (Kathará's files are mostly plain command lists).
func (k *kathara) script(f string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(k.dir, f))
	if err != nil {
		return "", false
	}
	interp := "sh"
	if first, _, _ := strings.Cut(string(data), "\n"); strings.HasPrefix(first, "#!") {
		if fields := strings.Fields(strings.TrimPrefix(first, "#!")); len(fields) > 0 {
			interp = strings.Join(fields, " ")
		}
	}
	return interp + " /hostlab/" + f, true
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// parseDeps reads lab.dep: "DEV: DEP1 DEP2" runs DEV's startup after theirs.
func (k *kathara) parseDeps() {
	path := filepath.Join(k.dir, "lab.dep")
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	errAt := func(p pos, format string, args ...any) {
		k.errs = append(k.errs, &Error{File: path, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
	}
	deps := map[string][]string{}
	for i, text := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(text)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		at := pos{i + 1, 1}
		m := katharaDepRE().FindStringSubmatch(t)
		if m == nil {
			errAt(at, "not DEVICE: DEVICE… : %q", t)
			continue
		}
		for _, name := range append([]string{m[1]}, strings.Fields(m[2])...) {
			if k.byName[name] == nil {
				errAt(at, "unknown device %q", name)
			}
		}
		deps[m[1]] = append(deps[m[1]], strings.Fields(m[2])...)
	}
	if cycle := depCycle(deps); cycle != "" {
		errAt(pos{1, 1}, "dependency loop: %s", cycle)
		return
	}
	k.extras.after = deps
}

// depCycle returns a loop of deps as "a -> b -> a", or "".
func depCycle(deps map[string][]string) string {
	state := map[string]int{} // 1 visiting, 2 done
	var path []string
	var visit func(n string) string
	visit = func(n string) string {
		switch state[n] {
		case 1:
			return strings.Join(append(path, n), " -> ")
		case 2:
			return ""
		}
		state[n] = 1
		path = append(path, n)
		for _, d := range deps[n] {
			if c := visit(d); c != "" {
				return c
			}
		}
		path = path[:len(path)-1]
		state[n] = 2
		return ""
	}
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if c := visit(n); c != "" {
			return c
		}
	}
	return ""
}

// applyKathara puts what leolab's format has no field for into the plan.
func applyKathara(p *Plan, x *katharaExtras) {
	for i := range p.Nodes {
		n := &p.Nodes[i]
		for j := range n.Interfaces {
			if mac, ok := x.macs[n.Name][n.Interfaces[j].Name]; ok {
				n.Interfaces[j].MAC = mac
			}
		}
		n.Overlay = x.overlay[n.Name]
		n.Shutdown = x.shutdown[n.Name]
		n.After = x.after[n.Name]
	}
}
