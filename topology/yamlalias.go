package topology

import (
	"github.com/goccy/go-yaml/ast"
)

// MaxAliasNodes bounds what YAML aliases may add to a document: the nodes
// of an aliased value, counted again for every alias of it. An ordinary
// containerlab file that merges a block of defaults into each node stays
// far below it; an alias bomb (each level aliasing the one before ten
// times) crosses it within a few lines, and is refused there.
const MaxAliasNodes = 100_000

// aliasExpander resolves aliases and merge keys (<<) in a parsed document.
// An alias becomes the very node its anchor names (shared, not copied), so
// the work and memory of expansion are those of the file; only the count
// of nodes an alias stands for, which is what the decoder will walk, is
// bounded.
type aliasExpander struct {
	d       *decoder
	anchors map[string]ast.Node // anchor name → its (expanded) value, as defined so far
	sizes   map[ast.Node]int    // expanded node count of values aliases point to
	added   int                 // nodes aliases have added so far
	failed  bool
}

// expandAliases resolves every alias and merge key of body, reporting a
// located error (and false) for an alias to no earlier anchor, a merge of
// something that is not a mapping, or an expansion beyond MaxAliasNodes.
func (d *decoder) expandAliases(body ast.Node) (ast.Node, bool) {
	x := &aliasExpander{d: d, anchors: map[string]ast.Node{}, sizes: map[ast.Node]int{}}
	body = x.expand(body)
	return body, !x.failed
}

// expand returns what stands in n's place once its aliases and merge keys
// are resolved; collections are changed in place. Document order matters:
// an alias refers to the last anchor of its name defined before it, so
// anchors are recorded after their own value is expanded (which also makes
// a cycle impossible).
func (x *aliasExpander) expand(n ast.Node) ast.Node {
	if x.failed || n == nil {
		return n
	}
	switch v := n.(type) {
	case *ast.AnchorNode:
		v.Value = x.expand(v.Value)
		if name, ok := scalarText(v.Name); ok {
			x.anchors[name] = v.Value
		}
	case *ast.AliasNode:
		return x.alias(v)
	case *ast.SequenceNode:
		for i, item := range v.Values {
			v.Values[i] = x.expand(item)
		}
	case *ast.MappingValueNode:
		x.pair(v)
		if isMergeKey(v.Key) {
			return x.merge(ast.Mapping(v.GetToken(), false, v))
		}
	case *ast.MappingNode:
		for _, p := range v.Values {
			x.pair(p)
		}
		return x.merge(v)
	}
	return n
}

func (x *aliasExpander) pair(p *ast.MappingValueNode) {
	if k, ok := x.expand(p.Key).(ast.MapKeyNode); ok {
		p.Key = k
	}
	p.Value = x.expand(p.Value)
}

func (x *aliasExpander) alias(a *ast.AliasNode) ast.Node {
	name, _ := scalarText(a.Value)
	target, ok := x.anchors[name]
	if !ok {
		x.d.errf(a, "yaml alias *%s: no anchor &%s before it", name, name)
		x.failed = true
		return a
	}
	if x.added += x.size(target); x.added > MaxAliasNodes {
		x.d.errf(a, "yaml aliases expand the document beyond %d nodes (an alias bomb?)", MaxAliasNodes)
		x.failed = true
		return a
	}
	return target
}

// size counts the nodes of n, aliased values included, saturating just
// above MaxAliasNodes. Values aliases point to are counted once each and
// remembered, so a bomb costs no more to measure than to read.
func (x *aliasExpander) size(n ast.Node) int {
	if s, ok := x.sizes[n]; ok {
		return s
	}
	s := 1
	add := func(c ast.Node) { s = min(s+x.size(c), MaxAliasNodes+1) }
	switch v := n.(type) {
	case *ast.AnchorNode:
		s = x.size(v.Value)
	case *ast.SequenceNode:
		for _, item := range v.Values {
			add(item)
		}
	case *ast.MappingNode:
		for _, p := range v.Values {
			add(p)
		}
	case *ast.MappingValueNode:
		add(v.Key)
		add(v.Value)
	}
	x.sizes[n] = s
	return s
}

func isMergeKey(k ast.Node) bool {
	_, ok := k.(*ast.MergeKeyNode)
	return ok
}

// merge replaces the merge keys of m by the entries of the mappings they
// name (<<: *a, or <<: [*a, *b]): a key of m's own wins over a merged one,
// and among merged mappings the earlier wins, as YAML's merge key type
// says. Duplicate keys of m's own are kept for the decoder to report.
func (x *aliasExpander) merge(m *ast.MappingNode) ast.Node {
	var own, merges []*ast.MappingValueNode
	for _, p := range m.Values {
		if isMergeKey(p.Key) {
			merges = append(merges, p)
		} else {
			own = append(own, p)
		}
	}
	if len(merges) == 0 {
		return m
	}
	seen := map[string]bool{}
	for _, p := range own {
		if k, ok := scalarText(p.Key); ok {
			seen[k] = true
		}
	}
	for _, mp := range merges {
		for _, src := range x.mergeSources(mp) {
			for _, p := range src {
				if k, ok := scalarText(p.Key); ok && !seen[k] {
					seen[k] = true
					own = append(own, p)
				}
			}
		}
	}
	m.Values = own
	return m
}

// mergeSources are the entries of each mapping a merge key names.
func (x *aliasExpander) mergeSources(mp *ast.MappingValueNode) [][]*ast.MappingValueNode {
	items := []ast.Node{mp.Value}
	if seq, ok := unwrap(mp.Value).(*ast.SequenceNode); ok {
		items = seq.Values
	}
	var out [][]*ast.MappingValueNode
	for _, it := range items {
		switch v := unwrap(it).(type) {
		case *ast.MappingNode:
			out = append(out, v.Values)
		case *ast.MappingValueNode:
			out = append(out, []*ast.MappingValueNode{v})
		default:
			if !x.failed {
				x.d.errf(mp.Key, "yaml merge key <<: wants a mapping or a list of mappings, not %s", kind(it))
			}
			x.failed = true
		}
	}
	return out
}
