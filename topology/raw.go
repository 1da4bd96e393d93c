package topology

import "github.com/goccy/go-yaml/ast"

// The raw stage: the file as written, every value with its position and
// nothing resolved. Types are checked here; meaning is checked in resolve.

type rawFile struct {
	body     ast.Node
	name     sval
	pool     sval
	defaults *rawNode
	bridges  []*rawBridge
	nodes    []*rawNode
	links    []*rawLink
	checks   []*rawCheck
	images   []rawImage
	kathara  *katharaExtras // a Kathará lab's extras (kathara.go), else nil
	ipv6     bval           // lab-wide automatic IPv6
	pool6    sval
	hosts    []*rawHost
}

type rawBridge struct {
	name    sval // at the key
	subnet  sval
	gateway bval
	nat     bval
	natKey  pos
	mtu     ival
	subnet6 sval
}

type rawNode struct {
	name          sval // at the key
	rootfs        sval
	rootfsCopy    bval
	interfaces    []*rawIface
	gateway       sval
	routes        []*rawRoute
	routesSet     bool
	env           []kv
	exec          []sval
	execSet       bool
	cmd           []sval
	cmdSet        bool
	binds         []sval
	bindsSet      bool
	sysctls       []kv
	privileged    bval
	userNamespace bval
	limits        rawLimits
	frr           *rawFRR
	bird          *rawBird
	caps          *rawCaps
	gateway6      sval
	host          sval
}

type rawIface struct {
	name   sval // at the key
	bridge sval
	ipv4   sval
	ipv6   sval
}

type rawRoute struct {
	at  pos
	to  sval
	via sval
}

type kv struct {
	key   sval // at the key
	value sval
}

type rawLimits struct {
	memory sval
	pids   ival
	cpus   sval
	tmpfs  sval
}

type rawLink struct {
	at        pos
	endpoints []sval
	endsAt    pos
	endsOK    bool // every endpoint is a string
	subnet    sval
	ipv4      sval
	mtu       ival
	netem     rawNetem
	netemSet  bool
	subnet6   sval
}

type rawNetem struct {
	delay, jitter, loss, duplicate, corrupt, reorder, rate sval
}

func (d *decoder) decodeFile(body ast.Node) *rawFile {
	f := &rawFile{body: body}
	d.fields(body, "the topology file", map[string]func(entry){
		"name": func(e entry) {
			f.name, _ = d.str(e)
			f.name.set = true // present, even if of the wrong type
		},
		"ipv4_pool": into(&f.pool, d.str),
		"defaults": func(e entry) {
			f.defaults = d.decodeNode(sval{v: "defaults", pos: e.kpos, set: true}, e.value, "defaults")
		},
		"bridges": func(e entry) {
			entries, _ := d.mapping(e.value, "bridges")
			for _, b := range entries {
				f.bridges = append(f.bridges, d.decodeBridge(b))
			}
		},
		"nodes": func(e entry) {
			entries, _ := d.mapping(e.value, "nodes")
			for _, n := range entries {
				name := sval{v: n.key, pos: n.kpos, set: true}
				f.nodes = append(f.nodes, d.decodeNode(name, n.value, "node "+n.key))
			}
		},
		"links":     func(e entry) { f.links = d.decodeLinks(e) },
		"checks":    func(e entry) { f.checks = d.decodeChecks(e) },
		"images":    func(e entry) { f.images = d.decodeImages(e) },
		"ipv6":      func(e entry) { f.ipv6, _ = d.boolean(e) },
		"ipv6_pool": func(e entry) { f.pool6, _ = d.str(e) },
		"hosts":     func(e entry) { f.hosts = d.decodeHosts(e) },
	})
	return f
}

func (d *decoder) decodeBridge(e entry) *rawBridge {
	b := &rawBridge{name: sval{v: e.key, pos: e.kpos, set: true}}
	d.fields(e.value, "bridge "+e.key, map[string]func(entry){
		"subnet":  into(&b.subnet, d.str),
		"gateway": into(&b.gateway, d.boolean),
		"nat":     func(e entry) { b.nat, _ = d.boolean(e); b.natKey = e.kpos },
		"mtu":     into(&b.mtu, d.integer),
		"subnet6": func(e entry) { b.subnet6, _ = d.str(e) },
	})
	return b
}

func (d *decoder) decodeNode(name sval, value ast.Node, what string) *rawNode {
	n := &rawNode{name: name}
	d.fields(value, what, map[string]func(entry){
		"rootfs":      func(e entry) { n.rootfs, _ = d.rootfsValue(e) },
		"rootfs_copy": into(&n.rootfsCopy, d.boolean),
		"interfaces":  func(e entry) { n.interfaces = d.decodeIfaces(e, what) },
		"gateway":     into(&n.gateway, d.str),
		"routes":      func(e entry) { n.routes = d.decodeRoutes(e, what); n.routesSet = true },
		"env":         func(e entry) { n.env = d.decodeKV(e, what) },
		"exec":        func(e entry) { n.exec, _ = d.strList(e); n.execSet = true },
		"cmd":         func(e entry) { n.cmd, _ = d.strList(e); n.cmdSet = true },
		"binds":       func(e entry) { n.binds, _ = d.strList(e); n.bindsSet = true },
		"sysctls":     func(e entry) { n.sysctls = d.decodeKV(e, what) },
		"privileged":  into(&n.privileged, d.boolean),
		"user_namespace": func(e entry) {
			n.userNamespace, _ = d.boolean(e)
		},
		"limits":       func(e entry) { n.limits = d.decodeLimits(e, what) },
		"frr":          func(e entry) { n.frr = d.decodeFRR(e, what) },
		"bird":         func(e entry) { n.bird = d.decodeBird(e, what) },
		"capabilities": func(e entry) { n.caps = d.decodeCaps(e, what) },
		"gateway6":     func(e entry) { n.gateway6, _ = d.str(e) },
		"host":         into(&n.host, d.str),
	})
	return n
}

// decodeIfaces reads `eth0: lan` (shorthand) or `eth0: {bridge: lan, ipv4: …}`.
func (d *decoder) decodeIfaces(e entry, what string) []*rawIface {
	entries, _ := d.mapping(e.value, what+" interfaces")
	var out []*rawIface
	for _, ie := range entries {
		ifc := &rawIface{name: sval{v: ie.key, pos: ie.kpos, set: true}}
		if _, ok := unwrap(ie.value).(*ast.StringNode); ok {
			ifc.bridge, _ = d.str(ie)
		} else {
			d.fields(ie.value, "interface "+ie.key, map[string]func(entry){
				"bridge": into(&ifc.bridge, d.str),
				"ipv4":   func(e entry) { ifc.ipv4, _ = d.str(e) },
				"ipv6":   func(e entry) { ifc.ipv6, _ = d.str(e) },
			})
		}
		out = append(out, ifc)
	}
	return out
}

func (d *decoder) decodeRoutes(e entry, what string) []*rawRoute {
	var out []*rawRoute
	for _, item := range d.optionalList(e, "routes") {
		r := &rawRoute{at: posOf(item)}
		d.fields(item, what+" route", map[string]func(entry){
			"to":  into(&r.to, d.str),
			"via": into(&r.via, d.str),
		})
		if !r.to.set {
			d.errAt(r.at, "route needs a \"to\"")
		}
		if !r.via.set {
			d.errAt(r.at, "route needs a \"via\"")
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) decodeKV(e entry, what string) []kv {
	entries, _ := d.mapping(e.value, what+" "+e.key)
	var out []kv
	for _, x := range entries {
		v, ok := d.text(x)
		if ok {
			out = append(out, kv{key: sval{v: x.key, pos: x.kpos, set: true}, value: v})
		}
	}
	return out
}

func (d *decoder) decodeLimits(e entry, what string) rawLimits {
	var l rawLimits
	d.fields(e.value, what+" limits", map[string]func(entry){
		"memory": into(&l.memory, d.text),
		"pids":   into(&l.pids, d.integer),
		"cpus":   into(&l.cpus, d.text),
		"tmpfs":  into(&l.tmpfs, d.text),
	})
	return l
}

func (d *decoder) decodeLinks(e entry) []*rawLink {
	var out []*rawLink
	for _, item := range d.optionalList(e, "links") {
		l := &rawLink{at: posOf(item)}
		d.fields(item, "link", map[string]func(entry){
			"endpoints": func(e entry) { l.endpoints, l.endsOK = d.endpoints(e); l.endsAt = valuePos(e) },
			"subnet":    into(&l.subnet, d.str),
			"ipv4":      func(e entry) { l.ipv4, _ = d.str(e) },
			"mtu":       into(&l.mtu, d.integer),
			"netem":     func(e entry) { l.netem = d.decodeNetem(e); l.netemSet = true },
			"subnet6":   func(e entry) { l.subnet6, _ = d.str(e) },
		})
		if l.endsAt == (pos{}) {
			d.errAt(l.at, "link needs endpoints: [NODE:IFACE, NODE:IFACE]")
		}
		out = append(out, l)
	}
	return out
}

// endpoints reads a link's endpoints. Inside a flow mapping the parser reads
// [r1:eth1, r2:eth1] as one-pair mappings {r1: eth1}; those are read back
// as the NODE:IFACE strings the user wrote.
func (d *decoder) endpoints(e entry) ([]sval, bool) {
	seq, ok := unwrap(e.value).(*ast.SequenceNode)
	if !ok {
		return d.strList(e)
	}
	items := make([]ast.Node, len(seq.Values))
	for i, item := range seq.Values {
		items[i] = item
		if s, ok := joinedPair(item); ok {
			items[i] = s
		}
	}
	fixed := *seq
	fixed.Values = items
	return d.strList(entry{key: e.key, kpos: e.kpos, value: &fixed})
}

// joinedPair turns a one-pair mapping written as KEY:VALUE (no space) back
// into a string node.
func joinedPair(n ast.Node) (ast.Node, bool) {
	var pair *ast.MappingValueNode
	switch v := unwrap(n).(type) {
	case *ast.MappingValueNode:
		pair = v
	case *ast.MappingNode:
		if len(v.Values) != 1 {
			return nil, false
		}
		pair = v.Values[0]
	default:
		return nil, false
	}
	k, okK := scalarText(pair.Key)
	v, okV := scalarText(pair.Value)
	kt, vt := pair.Key.GetToken(), pair.Value.GetToken()
	if !okK || !okV || kt.Position.Line != vt.Position.Line || kt.Position.Column+len(k)+1 != vt.Position.Column {
		return nil, false
	}
	tk := *kt
	tk.Value = k + ":" + v
	return ast.String(&tk), true
}

func (d *decoder) decodeNetem(e entry) rawNetem {
	var n rawNetem
	d.fields(e.value, "netem", map[string]func(entry){
		"delay":     into(&n.delay, d.text),
		"jitter":    into(&n.jitter, d.text),
		"loss":      into(&n.loss, d.text),
		"duplicate": into(&n.duplicate, d.text),
		"corrupt":   into(&n.corrupt, d.text),
		"reorder":   into(&n.reorder, d.text),
		"rate":      into(&n.rate, d.text),
	})
	return n
}

// merge applies defaults to a node: the node's own value wins; mappings
// (interfaces, env, sysctls, limits) are merged key by key.
func merge(def, n *rawNode) *rawNode {
	if def == nil {
		return n
	}
	m := *n
	pickS(&m.rootfs, def.rootfs)
	pickS(&m.gateway, def.gateway)
	pickS(&m.gateway6, def.gateway6)
	pickS(&m.host, def.host)
	pickB(&m.rootfsCopy, def.rootfsCopy)
	pickB(&m.privileged, def.privileged)
	pickB(&m.userNamespace, def.userNamespace)
	if !m.routesSet {
		m.routes, m.routesSet = def.routes, def.routesSet
	}
	if !m.execSet {
		m.exec, m.execSet = def.exec, def.execSet
	}
	if !m.cmdSet {
		m.cmd, m.cmdSet = def.cmd, def.cmdSet
	}
	if !m.bindsSet {
		m.binds, m.bindsSet = def.binds, def.bindsSet
	}
	m.env = mergeKV(def.env, n.env)
	m.sysctls = mergeKV(def.sysctls, n.sysctls)
	m.interfaces = mergeIfaces(def.interfaces, n.interfaces)
	if m.frr == nil {
		m.frr = def.frr
	}
	if m.bird == nil {
		m.bird = def.bird
	}
	if m.caps == nil {
		m.caps = def.caps
	}
	pickS(&m.limits.memory, def.limits.memory)
	pickS(&m.limits.cpus, def.limits.cpus)
	pickS(&m.limits.tmpfs, def.limits.tmpfs)
	if !m.limits.pids.set {
		m.limits.pids = def.limits.pids
	}
	return &m
}

func pickS(dst *sval, def sval) {
	if !dst.set {
		*dst = def
	}
}

func pickB(dst *bval, def bval) {
	if !dst.set {
		*dst = def
	}
}

func mergeKV(def, own []kv) []kv {
	mine := map[string]bool{}
	for _, o := range own {
		mine[o.key.v] = true
	}
	var out []kv
	for _, d := range def {
		if !mine[d.key.v] {
			out = append(out, d)
		}
	}
	return append(out, own...)
}

// mergeIfaces puts inherited interfaces first (file order of defaults), then
// the node's own; an own interface of the same name replaces the inherited.
func mergeIfaces(def, own []*rawIface) []*rawIface {
	mine := map[string]bool{}
	for _, o := range own {
		mine[o.name.v] = true
	}
	var out []*rawIface
	for _, d := range def {
		if !mine[d.name.v] {
			out = append(out, d)
		}
	}
	return append(out, own...)
}
