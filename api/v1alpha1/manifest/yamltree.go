package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits bound the work Decode does on untrusted input, so a hostile or broken file (an alias
// bomb, a very deep nesting, a huge file) fails with an error instead of exhausting memory.
type Limits struct {
	// MaxBytes caps the input size. Default 4 MiB.
	MaxBytes int
	// MaxDepth caps the nesting of mappings and sequences. Default 100.
	MaxDepth int
	// MaxAliasNodes caps how many nodes alias expansion may produce per file. Default 100,000.
	MaxAliasNodes int
	// MaxDocuments caps the number of documents in one file. Default 10,000.
	MaxDocuments int
}

// DefaultLimits are the limits Decode uses.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 4 << 20, MaxDepth: 100, MaxAliasNodes: 100_000, MaxDocuments: 10_000}
}

// treeBuilder turns a yaml.v3 node into plain JSON-compatible values (map[string]any, []any,
// string, int64, float64, bool, nil), expanding aliases within a budget, and records the line
// of every field path it passes so errors can point at a line.
type treeBuilder struct {
	limits     Limits
	aliasNodes int
	lines      map[string]int
}

// pathError is a problem found while building the tree, at a dotted path.
type pathError struct {
	path string
	line int
	msg  string
}

func (e *pathError) Error() string { return e.path + ": " + e.msg }

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (b *treeBuilder) build(n *yaml.Node, path string, depth int, inAlias bool) (any, error) {
	if depth > b.limits.MaxDepth {
		return nil, &pathError{path, n.Line, fmt.Sprintf("nesting deeper than %d levels", b.limits.MaxDepth)}
	}
	if inAlias {
		b.aliasNodes++
		if b.aliasNodes > b.limits.MaxAliasNodes {
			return nil, &pathError{path, n.Line, fmt.Sprintf("alias expansion produces more than %d nodes", b.limits.MaxAliasNodes)}
		}
	} else if b.lines != nil && path != "" {
		if _, seen := b.lines[path]; !seen {
			b.lines[path] = n.Line
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return b.build(n.Content[0], path, depth, inAlias)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &pathError{path, n.Line, "alias to an unknown anchor"}
		}
		return b.build(n.Alias, path, depth+1, true)
	case yaml.ScalarNode:
		return scalarValue(n, path)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := b.build(c, path+"["+strconv.Itoa(i)+"]", depth+1, inAlias)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return b.mapping(n, path, depth, inAlias)
	}
	return nil, &pathError{path, n.Line, "unsupported YAML node"}
}

// mapping converts a YAML mapping; explicit keys win over keys merged in with "<<".
func (b *treeBuilder) mapping(n *yaml.Node, path string, depth int, inAlias bool) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &pathError{path, k.Line, "mapping keys must be strings (a value starting with \"{\", such as {{args.x}}, must be quoted)"}
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key := k.Value
		if _, dup := out[key]; dup {
			return nil, &pathError{joinKey(path, key), k.Line, "duplicate field"}
		}
		if !inAlias && b.lines != nil {
			// A field's line is its key's line, not where a block value starts.
			if _, seen := b.lines[joinKey(path, key)]; !seen {
				b.lines[joinKey(path, key)] = k.Line
			}
		}
		val, err := b.build(v, joinKey(path, key), depth+1, inAlias)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	for _, m := range merges {
		if err := b.merge(out, m, path, depth, inAlias); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merge applies a "<<" value: a mapping, an alias to one, or a sequence of those (earlier
// entries win).
func (b *treeBuilder) merge(out map[string]any, m *yaml.Node, path string, depth int, inAlias bool) error {
	var sources []*yaml.Node
	if m.Kind == yaml.SequenceNode {
		sources = m.Content
	} else {
		sources = []*yaml.Node{m}
	}
	for _, src := range sources {
		v, err := b.build(src, path, depth+1, true)
		if err != nil {
			return err
		}
		mm, ok := v.(map[string]any)
		if !ok {
			return &pathError{path, src.Line, "merge key \"<<\" needs a mapping"}
		}
		for k, val := range mm {
			if _, set := out[k]; !set {
				out[k] = val
			}
		}
	}
	return nil
}

// scalarValue resolves a scalar with YAML 1.2 core-schema rules ("yes" stays a string).
func scalarValue(n *yaml.Node, path string) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return nil, &pathError{path, n.Line, fmt.Sprintf("invalid boolean %q", n.Value)}
		}
		return v, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, nil
		}
		return nil, &pathError{path, n.Line, fmt.Sprintf("invalid integer %q", n.Value)}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, &pathError{path, n.Line, fmt.Sprintf("invalid number %q", n.Value)}
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &pathError{path, n.Line, fmt.Sprintf("number %q cannot be represented in JSON; quote it to make it a string", n.Value)}
		}
		return f, nil
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	}
	if strings.HasPrefix(n.Tag, "!!") {
		return nil, &pathError{path, n.Line, fmt.Sprintf("unsupported YAML tag %s", n.Tag)}
	}
	// Custom local tags (e.g. "!Ref") are not meaningful here; keep the text.
	return n.Value, nil
}
