package definitions

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A pointer addresses a value in the document as a JSON Pointer without
// the leading slash: "steps/3/next". Keys are escaped per RFC 6901.
func ptrJoin(parent string, tokens ...string) string {
	var sb strings.Builder
	sb.WriteString(parent)
	for _, t := range tokens {
		if sb.Len() > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

func ptrIndex(parent string, i int) string { return ptrJoin(parent, strconv.Itoa(i)) }

func ptrTokens(p string) []string {
	if p == "" {
		return nil
	}
	toks := strings.Split(p, "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

func ptrParent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// displayPath renders a pointer as designers read it: steps[3].next.
func displayPath(p string) string {
	var sb strings.Builder
	for _, t := range ptrTokens(p) {
		if _, err := strconv.Atoi(t); err == nil {
			fmt.Fprintf(&sb, "[%s]", t)
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(t)
	}
	return sb.String()
}

// nodePos is where a value (and the key that names it) stands in the file.
type nodePos struct {
	keyLine, keyCol int // 0 for array elements and the root
	line, col       int
	style           yaml.Style
	multiline       bool
	text            string // the scalar as written, if short
}

// source maps pointers to positions in the parsed file.
type source struct {
	file string
	pos  map[string]nodePos
}

// at returns the position of the value at p, or of its nearest ancestor
// that has one. With key, the position of the key naming it is preferred.
func (s *source) at(p string, key bool) (line, col int) {
	if s == nil {
		return 0, 0
	}
	for {
		if np, ok := s.pos[p]; ok {
			if key && np.keyLine > 0 {
				return np.keyLine, np.keyCol
			}
			return np.line, np.col
		}
		if p == "" {
			return 0, 0
		}
		p = ptrParent(p)
	}
}

func (s *source) fileName() string {
	if s == nil {
		return ""
	}
	return s.file
}

// errAt builds an Error located at the value at p.
func (s *source) errAt(p string, msg, fix string) Error {
	line, col := s.at(p, false)
	return Error{File: s.fileName(), Line: line, Column: col, Path: displayPath(p), Msg: msg, Fix: fix}
}

// errAtKey builds an Error located at the key naming the value at p.
func (s *source) errAtKey(p string, msg, fix string) Error {
	line, col := s.at(p, true)
	return Error{File: s.fileName(), Line: line, Column: col, Path: displayPath(p), Msg: msg, Fix: fix}
}

// Limits that keep hostile input from exhausting memory or stack.
const (
	maxSourceBytes = 4 << 20
	maxNodes       = 200000
	maxDepth       = 100
)

// converter turns a YAML node tree into the generic JSON value the schema
// validator and encoding/json understand, recording positions on the way.
type converter struct {
	src   *source
	nodes int
	errs  ErrorList
}

func (c *converter) fail(n *yaml.Node, p, msg, fix string) {
	c.errs = append(c.errs, Error{File: c.src.file, Line: n.Line, Column: n.Column, Path: displayPath(p), Msg: msg, Fix: fix})
}

func (c *converter) convert(n *yaml.Node, p string, key *yaml.Node, depth int) any {
	c.nodes++
	if c.nodes > maxNodes {
		if c.nodes == maxNodes+1 {
			c.fail(n, p, fmt.Sprintf("document has more than %d values (or aliases that expand to that many)", maxNodes), "split the definition or remove YAML aliases")
		}
		return nil
	}
	if depth > maxDepth {
		c.fail(n, p, fmt.Sprintf("values are nested more than %d levels deep", maxDepth), "flatten the structure")
		return nil
	}
	if _, seen := c.src.pos[p]; !seen {
		np := nodePos{line: n.Line, col: n.Column, style: n.Style}
		if key != nil {
			np.keyLine, np.keyCol = key.Line, key.Column
		}
		if n.Kind == yaml.ScalarNode {
			np.multiline = strings.Contains(n.Value, "\n") || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
			if len(n.Value) <= 80 {
				np.text = n.Value
			}
		}
		c.src.pos[p] = np
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return c.convert(n.Content[0], p, nil, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil
		}
		return c.convert(n.Alias, p, key, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			out = append(out, c.convert(item, ptrIndex(p, i), nil, depth+1))
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		c.mapping(n, p, out, depth)
		return out
	case yaml.ScalarNode:
		return c.scalar(n, p)
	}
	c.fail(n, p, "unsupported YAML node", "")
	return nil
}

func (c *converter) mapping(n *yaml.Node, p string, out map[string]any, depth int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			// "<<: *defaults" merges the aliased mapping(s); keys written
			// here win.
			merged := map[string]any{}
			src := v
			if src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			switch src.Kind {
			case yaml.MappingNode:
				c.mapping(src, p, merged, depth+1)
			case yaml.SequenceNode:
				for _, m := range src.Content {
					if m.Kind == yaml.AliasNode && m.Alias != nil {
						m = m.Alias
					}
					if m.Kind == yaml.MappingNode {
						c.mapping(m, p, merged, depth+1)
					}
				}
			default:
				c.fail(v, p, "a merge key (<<) needs a mapping or a list of mappings", "")
			}
			for mk, mv := range merged {
				if _, exists := out[mk]; !exists {
					out[mk] = mv
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.fail(k, p, "mapping keys must be plain strings", "write the key as text")
			continue
		}
		name := k.Value
		if _, dup := out[name]; dup {
			c.fail(k, ptrJoin(p, name), fmt.Sprintf("field %q is given twice", name), "remove one of them")
			continue
		}
		out[name] = c.convert(v, ptrJoin(p, name), k, depth+1)
	}
}

func (c *converter) scalar(n *yaml.Node, p string) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			c.fail(n, p, fmt.Sprintf("%q is not a boolean", n.Value), "write true or false")
			return nil
		}
		return b
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return json.Number(strconv.FormatUint(u, 10))
		}
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
		c.fail(n, p, fmt.Sprintf("number %s is out of range", n.Value), "")
		return nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			c.fail(n, p, fmt.Sprintf("%s is not a number JSON can represent", n.Value), "use a finite decimal number")
			return nil
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return json.Number(strconv.FormatInt(int64(f), 10))
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	}
	// !!str, !!timestamp (dates stay text), !!binary and custom tags.
	return n.Value
}
