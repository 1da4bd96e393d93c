package topology

import (
	"fmt"
	"path/filepath"
	"strings"
)

// nodeSettings resolves everything of a node except its interfaces and
// routes: rootfs, env, sysctls, binds, limits and the rest.
func (r *resolver) nodeSettings(n *nodeState) {
	rn, out := n.raw, n.out
	r.rootfs(n)
	out.RootfsCopy = rn.rootfsCopy.v
	out.Privileged = rn.privileged.v
	out.UserNamespace = rn.userNamespace.v
	for _, e := range sortedKV(rn.env) {
		if !envKeyRE().MatchString(e.key.v) {
			r.errAt(e.key.pos, "env name %q must match ^[A-Za-z_][A-Za-z0-9_]*$", e.key.v)
			continue
		}
		out.Env = append(out.Env, e.key.v+"="+e.value.v)
	}
	for _, s := range sortedKV(rn.sysctls) {
		if err := checkSysctl(s); err != nil {
			r.errAt(s.key.pos, "%v", err)
			continue
		}
		out.Sysctls = append(out.Sysctls, Sysctl{Key: s.key.v, Value: s.value.v})
	}
	for _, e := range rn.exec {
		if strings.TrimSpace(e.v) == "" {
			r.errAt(e.pos, "exec: empty command")
			continue
		}
		out.Exec = append(out.Exec, e.v)
	}
	for _, c := range rn.cmd {
		out.Cmd = append(out.Cmd, c.v)
	}
	if len(out.Cmd) > 0 && out.Cmd[0] == "" {
		r.errAt(rn.cmd[0].pos, "cmd: the program name is empty")
	}
	r.binds(n)
	r.limits(n)
	r.routers(n)
}

func (r *resolver) rootfs(n *nodeState) {
	if r.opts.RootfsOverride != "" {
		// Relative to the working directory: it was typed on the command line.
		cwd, _ := filepath.Abs(".")
		rootfs, err := resolveRootfs(r.opts.RootfsOverride, cwd)
		if err != nil {
			r.errs = append(r.errs, &Error{File: r.file, Msg: "--rootfs: " + err.Error()})
		}
		n.out.Rootfs = rootfs
		return
	}
	if !n.raw.rootfs.set {
		n.out.Rootfs = RootfsBusybox
		return
	}
	if mapped, ok := r.mappedRootfs(n.raw.rootfs); ok {
		n.out.Rootfs = mapped
		return
	}
	rootfs, err := resolveRootfs(n.raw.rootfs.v, r.dir)
	if err != nil {
		r.errAt(n.raw.rootfs.pos, "%v", err)
		return
	}
	n.out.Rootfs = rootfs
}

func checkSysctl(s kv) error {
	k := s.key.v
	if !strings.HasPrefix(k, "net.") {
		return fmt.Errorf("sysctl %q: only net.* sysctls are per node", k)
	}
	if !sysctlKeyRE().MatchString(k) {
		return fmt.Errorf("sysctl %q is not a dotted name like net.ipv4.ip_forward", k)
	}
	if strings.ContainsAny(s.value.v, "\n\x00") || s.value.v == "" {
		return fmt.Errorf("sysctl %s: value %q is empty or spans lines", k, s.value.v)
	}
	return nil
}

func (r *resolver) binds(n *nodeState) {
	targets := map[string]int{}
	for _, s := range n.raw.binds {
		b, err := parseBind(s.v, r.dir)
		if err != nil {
			r.errAt(s.pos, "%v", err)
			continue
		}
		if line, dup := targets[b.Target]; dup {
			r.errAt(s.pos, "bind target %s is already bound at line %d", b.Target, line)
			continue
		}
		targets[b.Target] = s.pos.line
		n.out.Binds = append(n.out.Binds, b)
	}
}

func (r *resolver) limits(n *nodeState) {
	l := n.raw.limits
	parseLimit(r, l.memory, parseMemory, &n.out.Limits.MemoryBytes)
	if l.pids.set {
		if l.pids.v <= 0 {
			r.errAt(l.pids.pos, "pids %d must be greater than 0", l.pids.v)
		} else {
			n.out.Limits.Pids = l.pids.v
		}
	}
	parseLimit(r, l.cpus, parseCPUs, &n.out.Limits.CPUs)
	parseLimit(r, l.tmpfs, func(v string) (int64, error) { return parseSize("tmpfs", v) }, &n.out.Limits.TmpfsBytes)
}

// parseLimit sets *dst to what parse makes of v when v is set, reporting
// a bad value (which leaves what parse returned with its error).
func parseLimit[T any](r *resolver, v sval, parse func(string) (T, error), dst *T) {
	if !v.set {
		return
	}
	x, err := parse(v.v)
	if err != nil {
		r.errAt(v.pos, "%v", err)
	}
	*dst = x
}

// netem resolves link impairments; invalid figures are reported and left
// at zero.
func (r *resolver) netem(rn rawNetem) *Netem {
	out := &Netem{}
	var err error
	if rn.delay.set {
		if out.Delay, err = parseDuration("delay", rn.delay.v); err != nil {
			r.errAt(rn.delay.pos, "netem %v", err)
		}
	}
	if rn.jitter.set {
		if out.Jitter, err = parseDuration("jitter", rn.jitter.v); err != nil {
			r.errAt(rn.jitter.pos, "netem %v", err)
		} else if !rn.delay.set {
			r.errAt(rn.jitter.pos, "netem jitter needs a delay")
		}
	}
	pct := []struct {
		v   sval
		dst *float64
		key string
	}{{rn.loss, &out.LossPct, "loss"}, {rn.duplicate, &out.Duplicate, "duplicate"}, {rn.corrupt, &out.Corrupt, "corrupt"}, {rn.reorder, &out.Reorder, "reorder"}}
	for _, p := range pct {
		if p.v.set {
			if *p.dst, err = parsePercent(p.key, p.v.v); err != nil {
				r.errAt(p.v.pos, "netem %v", err)
			}
		}
	}
	if rn.reorder.set && !rn.delay.set {
		r.errAt(rn.reorder.pos, "netem reorder needs a delay")
	}
	if rn.rate.set {
		if out.RateBits, err = parseRate("rate", rn.rate.v); err != nil {
			r.errAt(rn.rate.pos, "netem %v", err)
		}
	}
	if *out == (Netem{}) {
		return nil
	}
	return out
}
