package topology

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Load reads the topology file at path with ReadFile and resolves it with
// Parse.
func Load(path string, opts Options) (*Plan, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// ReadFile reads a topology file, refusing files over MaxFileSize before
// reading them whole. A caller that resolves one file more than once
// (deploy: validation, then planning against the running labs) reads it
// once, so both see the same contents.
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
	// One byte over the limit is enough for Parse to refuse it.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read topology %s: %w", path, err)
	}
	return data, nil
}

// Parse validates and resolves a topology file's contents. file names the
// file in error positions; relative paths in it (rootfs, binds) are taken
// from its directory. An invalid file yields Errors, listing every
// violation in file order; any other error (reading the host) is plain.
func Parse(file string, data []byte, opts Options) (*Plan, error) {
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
	r := &resolver{decoder: d, dir: dir, opts: opts, raw: raw}
	plan, err := r.run()
	if err != nil {
		return nil, err
	}
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	if raw.kathara != nil {
		applyKathara(plan, raw.kathara)
	}
	plan.File = abs
	return plan, nil
}
