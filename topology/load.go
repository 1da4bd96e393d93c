package topology

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
)

// HostView reports what is already in use on the host; tests replace it.
// Resolve consults it, Decode never does.
type HostView interface {
	// UsedSubnets returns the IPv4 and IPv6 prefixes of host routes and of other
	// running labs (never this lab's own). A default route (/0) is ignored.
	UsedSubnets() ([]netip.Prefix, error)
	// UsedUIDs returns the host id blocks other labs' user-namespace nodes
	// hold.
	UsedUIDs() ([]UIDBlock, error)
	// UsedNetns returns the node network namespace names (LAB-NODE) other
	// labs hold, each with the lab holding it.
	UsedNetns() (map[string]string, error)
}

// Options tune how a topology file is decoded. Host is only for Parse and
// Load, which resolve right away; Decode ignores it.
type Options struct {
	Host           HostView   // nil = nothing in use
	RootfsOverride string     // deploy --rootfs: replaces every node's rootfs
	Isolated       bool       // deploy --isolated: nat: true is then an error and the host is not consulted
	Images         []ImageMap // deploy --image: registry images replaced by other rootfs
	Name           string     // deploy --name: replaces the lab's name, whatever the format
	// Previous is the plan of the running lab being changed (apply): its
	// subnets and addresses are kept where the file does not pin others
	// (sticky.go). Resolve sets it from Env.Previous.
	Previous *Plan
}

// Env is what Resolve plans a decoded file against.
type Env struct {
	Host HostView // nil = nothing in use (validate)
	// LocalHost is deploy --host: the plan is this host's share of a lab
	// across hosts (Plan.Share), its subnets taken from the file alone and
	// refused if they overlap one in use here.
	LocalHost string
	// Previous is the running lab's recorded plan when apply changes it:
	// what exists keeps its subnet and addresses (sticky.go).
	Previous *Plan
}

// Load reads the topology file at path with ReadFile, decodes it and
// resolves it against opts.Host (Parse); validate plans a file with it as
// deploy does, against an empty host.
func Load(path string, opts Options) (*Plan, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// ReadFile reads a topology file, refusing files over MaxFileSize before
// reading them whole. Deploy reads it once and passes the bytes to Decode.
// A Kathará lab directory is read as its lab.conf.
func ReadFile(path string) ([]byte, error) {
	if dir, ok := KatharaLabDir(path); ok {
		path = filepath.Join(dir, KatharaConf)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open topology: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("file is %d bytes; the limit is %d (1 MiB)", st.Size(), MaxFileSize)}}
	}
	// One byte over the limit is enough for Decode to refuse it.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read topology %s: %w", path, err)
	}
	return data, nil
}

// Parse decodes a topology file's contents and resolves them against
// opts.Host: Decode, then Resolve.
func Parse(file string, data []byte, opts Options) (*Plan, error) {
	d, err := Decode(file, data, opts)
	if err != nil {
		return nil, err
	}
	return Resolve(d, Env{Host: opts.Host})
}

// Decoded is a topology file parsed and checked against every rule, without
// looking at the host: what Resolve needs to plan it, so a file is parsed
// once however often it is planned.
type Decoded struct {
	// Draft is the file resolved against an empty host. Its name, hosts,
	// nodes and warnings are final; addresses may still move aside for
	// subnets in use on the host.
	Draft *Plan
	file  string   // as located in error positions (a Kathará lab's lab.conf)
	abs   string   // absolute path, Plan.File
	dir   string   // directory relative paths are taken from
	opts  Options  // Host cleared
	raw   *rawFile // the decoded file, kept to resolve again
}

// Name is the lab's name (deploy --name when given).
func (d *Decoded) Name() string { return d.Draft.Name }

// Decode validates a topology file's contents, consulting nothing on the
// host but the paths the file names (rootfs, binds, router configs). file
// names the file in error positions; relative paths in it are taken from
// its directory. An invalid file yields Errors, listing every violation in
// file order. opts.Host is ignored.
func Decode(file string, data []byte, opts Options) (*Decoded, error) {
	opts.Host, opts.Previous = nil, nil
	var raw *rawFile
	d := &decoder{file: file}
	if labDir, ok := KatharaLabDir(file); ok {
		file = filepath.Join(labDir, KatharaConf)
		d.file = file
		abs, _ := filepath.Abs(labDir)
		raw = d.decodeKathara(abs, data, opts) // a Kathará lab (kathara.go)
	} else {
		body, ok := d.readYAML(data)
		if !ok {
			return nil, d.errs.sorted()
		}
		raw = d.decodeAny(body, opts) // leolab's format, or containerlab's (clab.go)
	}
	abs, dir := absDir(file)
	dec := &Decoded{file: file, abs: abs, dir: dir, opts: opts, raw: raw}
	plan, err := dec.resolveRaw(d)
	if err != nil {
		return nil, err
	}
	dec.Draft = plan
	return dec, nil
}

// resolveRaw runs the resolver over the decoded file with the errors found
// so far in d; opts.Host (set or not) is the host it avoids.
func (dec *Decoded) resolveRaw(d *decoder) (*Plan, error) {
	r := &resolver{decoder: d, dir: dec.dir, opts: dec.opts, raw: dec.raw}
	plan, err := r.run()
	if err != nil {
		return nil, err
	}
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	if dec.raw.kathara != nil {
		applyKathara(plan, dec.raw.kathara)
	}
	plan.File = dec.abs
	return plan, nil
}
