package topology

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits of the defensive YAML reader.
const (
	MaxFileSize = 1 << 20 // bytes
	MaxDepth    = 64      // nested mappings and sequences
	MaxEntries  = 4096    // entries of one block mapping or sequence
)

// pos is a 1-based place in the file.
type pos struct{ line, col int }

// decoder turns the YAML AST into raw structs, collecting every violation.
type decoder struct {
	file string
	errs Errors
}

func (d *decoder) errAt(p pos, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) errf(n ast.Node, format string, args ...any) {
	d.errAt(posOf(n), format, args...)
}

func tokenPos(tk *token.Token) pos {
	if tk == nil || tk.Position == nil {
		return pos{1, 1}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// posOf is where a node starts: a block mapping's token is its first ':', so
// it is located at its first key instead.
func posOf(n ast.Node) pos {
	switch v := n.(type) {
	case nil:
		return pos{1, 1}
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return posOf(v.Values[0])
		}
	case *ast.MappingValueNode:
		return posOf(v.Key)
	}
	return tokenPos(n.GetToken())
}

// readYAML checks the limits, then parses data into the body of its single
// document. Duplicate keys are left in for the decoder to report all of them.
func (d *decoder) readYAML(data []byte) (ast.Node, bool) {
	if len(data) > MaxFileSize {
		d.errs = append(d.errs, &Error{File: d.file, Msg: fmt.Sprintf("file is %d bytes; the limit is %d (1 MiB)", len(data), MaxFileSize)})
		return nil, false
	}
	tokens := lexer.Tokenize(string(data))
	// Checked on tokens, before the parser runs: its cost grows with depth.
	if !d.checkTokens(tokens) {
		return nil, false
	}
	f, err := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.syntaxError(err)
		return nil, false
	}
	var docs []*ast.DocumentNode
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch {
	case len(docs) == 0:
		d.errAt(pos{1, 1}, "file is empty")
		return nil, false
	case len(docs) > 1:
		d.errf(docs[1].Body, "only one YAML document is allowed")
		return nil, false
	}
	return d.expandAliases(docs[0].Body)
}

func (d *decoder) syntaxError(err error) {
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		d.errAt(tokenPos(yerr.GetToken()), "yaml: %s", yerr.GetMessage())
		return
	}
	d.errAt(pos{1, 1}, "yaml: %v", err)
}

// checkTokens rejects tags, nesting deeper than MaxDepth and block
// collections of more than MaxEntries entries (aliases are bounded later,
// by expandAliases). Block depth is the stack of indentation columns of
// keys and sequence entries; flow depth counts open brackets.
func (d *decoder) checkTokens(tokens token.Tokens) bool {
	ok := true
	flow := 0
	var cols, counts []int // indentation columns of enclosing block entries, and entries seen at each
	for i, tk := range tokens {
		switch tk.Type {
		case token.TagType:
			d.errAt(tokenPos(tk), "yaml tags (%s) are not supported", tk.Value)
			ok = false
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow--
		}
		if flow > 0 {
			if flow+len(cols) > MaxDepth {
				d.errAt(tokenPos(tk), "nesting is deeper than %d levels", MaxDepth)
				return false
			}
			continue
		}
		at := tk // a sequence entry, or the key of a key: value
		switch {
		case tk.Type == token.SequenceEntryType:
		case tk.Type == token.MappingValueType && i > 0:
			at = tokens[i-1]
		default:
			continue
		}
		col := at.Position.Column
		for len(cols) > 0 && cols[len(cols)-1] > col {
			cols, counts = cols[:len(cols)-1], counts[:len(counts)-1]
		}
		if len(cols) > 0 && cols[len(cols)-1] == col {
			// The parser nests one call per sibling: its cost is quadratic
			// in the number of entries of a mapping.
			if counts[len(counts)-1]++; counts[len(counts)-1] > MaxEntries {
				d.errAt(tokenPos(at), "more than %d entries in one mapping or list", MaxEntries)
				return false
			}
			continue
		}
		cols, counts = append(cols, col), append(counts, 1)
		if len(cols) > MaxDepth {
			d.errAt(tokenPos(at), "nesting is deeper than %d levels", MaxDepth)
			return false
		}
	}
	return ok
}

// entry is one key: value pair of a mapping.
type entry struct {
	key   string
	kpos  pos
	value ast.Node
}

// unwrap strips anchors (expandAliases has replaced every alias by the
// value its anchor names).
func unwrap(n ast.Node) ast.Node {
	for {
		a, ok := n.(*ast.AnchorNode)
		if !ok {
			return n
		}
		n = a.Value
	}
}

func isNull(n ast.Node) bool {
	_, ok := unwrap(n).(*ast.NullNode)
	return n == nil || ok
}

// mapping returns the entries of a mapping node (null is an empty mapping),
// reporting non-string and duplicate keys.
func (d *decoder) mapping(n ast.Node, what string) ([]entry, bool) {
	n = unwrap(n)
	var pairs []*ast.MappingValueNode
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return nil, true
	case *ast.MappingNode:
		pairs = v.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{v}
	default:
		d.errf(n, "%s must be a mapping, not %s", what, kind(n))
		return nil, false
	}
	seen := map[string]pos{}
	var out []entry
	for _, p := range pairs {
		key, ok := scalarText(p.Key)
		kp := posOf(p.Key)
		if !ok || key == "" {
			d.errAt(kp, "%s: keys must be plain strings", what)
			continue
		}
		if first, dup := seen[key]; dup {
			d.errAt(kp, "duplicate key %q in %s (first at line %d)", key, what, first.line)
			continue
		}
		seen[key] = kp
		out = append(out, entry{key: key, kpos: kp, value: p.Value})
	}
	return out, true
}

// fields dispatches each entry of a mapping to its handler and reports keys
// that have none.
func (d *decoder) fields(n ast.Node, what string, handlers map[string]func(entry)) {
	entries, _ := d.mapping(n, what)
	for _, e := range entries {
		h, ok := handlers[e.key]
		if !ok {
			d.errAt(e.kpos, "unknown key %q in %s; expected one of %s", e.key, what, keyList(handlers))
			continue
		}
		h(e)
	}
}

func keyList(handlers map[string]func(entry)) string {
	keys := make([]string, 0, len(handlers))
	for k := range handlers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// scalarText is the text of a scalar key or value (strings unquoted,
// numbers and booleans as written).
func scalarText(n ast.Node) (string, bool) {
	n = unwrap(n)
	if k, ok := n.(*ast.MappingKeyNode); ok {
		n = k.Value
	}
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	return "", false
}

func kind(n ast.Node) string {
	switch unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	}
	return "a " + strings.ToLower(unwrap(n).Type().String())
}

// into returns a field reader that stores in dst what read makes of the
// field's value (a wrong value is read's to report; dst is then zero).
func into[T any](dst *T, read func(entry) (T, bool)) func(entry) {
	return func(e entry) { *dst, _ = read(e) }
}

// str reads a string value; numbers and booleans are refused, so that
// `name: 1` or `rootfs: true` are reported rather than silently converted.
func (d *decoder) str(e entry) (sval, bool) {
	n := unwrap(e.value)
	switch v := n.(type) {
	case *ast.StringNode:
		return sval{v: v.Value, pos: posOf(n), set: true}, true
	case *ast.LiteralNode:
		return sval{v: v.Value.Value, pos: posOf(n), set: true}, true
	}
	d.errAt(valuePos(e), "%s must be a string, not %s", e.key, kind(n))
	return sval{}, false
}

// text reads any scalar value as written (env values, sysctl values, netem
// figures, which users write as numbers or strings alike).
func (d *decoder) text(e entry) (sval, bool) {
	if t, ok := scalarText(e.value); ok {
		return sval{v: t, pos: posOf(e.value), set: true}, true
	}
	d.errAt(valuePos(e), "%s must be a scalar, not %s", e.key, kind(e.value))
	return sval{}, false
}

func (d *decoder) boolean(e entry) (bval, bool) {
	if b, ok := unwrap(e.value).(*ast.BoolNode); ok {
		return bval{v: b.Value, pos: posOf(e.value), set: true}, true
	}
	d.errAt(valuePos(e), "%s must be true or false, not %s", e.key, kind(e.value))
	return bval{}, false
}

func (d *decoder) integer(e entry) (ival, bool) {
	if n, ok := unwrap(e.value).(*ast.IntegerNode); ok {
		var v int64
		switch x := n.Value.(type) {
		case int64:
			v = x
		case uint64:
			if x > 1<<62 {
				d.errAt(posOf(n), "%s: %s is too large", e.key, n.GetToken().Value)
				return ival{}, false
			}
			v = int64(x)
		}
		return ival{v: v, pos: posOf(n), set: true}, true
	}
	d.errAt(valuePos(e), "%s must be an integer, not %s", e.key, kind(e.value))
	return ival{}, false
}

// optionalList returns the items of e's list; a missing or null value is
// an empty list, anything else an error saying what must be a list.
func (d *decoder) optionalList(e entry, what string) []ast.Node {
	seq, ok := unwrap(e.value).(*ast.SequenceNode)
	if !ok {
		if !isNull(e.value) {
			d.errAt(valuePos(e), "%s must be a list, not %s", what, kind(e.value))
		}
		return nil
	}
	return seq.Values
}

// strList reads a list of strings.
func (d *decoder) strList(e entry) ([]sval, bool) {
	seq, ok := unwrap(e.value).(*ast.SequenceNode)
	if !ok {
		d.errAt(valuePos(e), "%s must be a list of strings, not %s", e.key, kind(e.value))
		return nil, false
	}
	out := []sval{}
	good := true
	for _, item := range seq.Values {
		s, ok := d.str(entry{key: e.key + " entries", value: item})
		good = good && ok
		if ok {
			out = append(out, s)
		}
	}
	return out, good
}

// valuePos locates a value; a missing value (key: with nothing) is located
// at its key.
func valuePos(e entry) pos {
	if e.value == nil {
		return e.kpos
	}
	if _, ok := e.value.(*ast.NullNode); ok && e.kpos.line != 0 {
		return e.kpos
	}
	return posOf(e.value)
}

// sval, bval and ival are scalar values with the place they were written;
// set distinguishes "absent" from the zero value.
type sval struct {
	v   string
	pos pos
	set bool
}

type bval struct {
	v   bool
	pos pos
	set bool
}

type ival struct {
	v   int64
	pos pos
	set bool
}
