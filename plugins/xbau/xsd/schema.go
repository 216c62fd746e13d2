package xsd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// XSNamespace is the XML Schema namespace.
const XSNamespace = "http://www.w3.org/2001/XMLSchema"

// Schema is a loaded schema.
type Schema struct {
	// Namespace is the target namespace.
	Namespace string
	elements  map[string]*element
	complex   map[string]*complexType
	simple    map[string]*simpleType
}

type element struct {
	name     string
	min, max int // max < 0: unbounded
	typeRef  string
	complex  *complexType
	simple   *simpleType
}

type particle struct {
	el     *element   // an element
	choice []*element // or a choice between elements
	min    int
	max    int
}

type attribute struct {
	name     string
	required bool
	typ      *simpleType
	typeRef  string
}

type complexType struct {
	name  string
	seq   []*particle
	attrs []*attribute
}

type simpleType struct {
	name           string
	base           string // built-in local name
	baseRef        string // named simple type this restricts (resolved)
	enums          []string
	patterns       []*regexp.Regexp
	patternSrc     []string
	minLen, maxLen int // -1: none
	totalDigits    int
	fractionDigits int // -1: none
}

// node is a parsed XML element of the schema document.
type node struct {
	name     xml.Name
	attrs    map[string]string
	ns       map[string]string // prefix -> namespace in scope
	children []*node
	line     int
}

func parseTree(r io.Reader) (*node, error) {
	dec := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			n := &node{name: t.Name, attrs: map[string]string{}, ns: map[string]string{}, line: line}
			if len(stack) > 0 {
				for k, v := range stack[len(stack)-1].ns {
					n.ns[k] = v
				}
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					n.ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					n.ns[""] = a.Value
				default:
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, fmt.Errorf("empty document")
	}
	return root, nil
}

// Load reads a schema in the supported subset.
func Load(b []byte) (*Schema, error) {
	root, err := parseTree(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	if root.name.Space != XSNamespace || root.name.Local != "schema" {
		return nil, fmt.Errorf("root element is %s, want xs:schema", root.name.Local)
	}
	if root.attrs["elementFormDefault"] != "qualified" {
		return nil, fmt.Errorf("line %d: only elementFormDefault=\"qualified\" is supported", root.line)
	}
	s := &Schema{Namespace: root.attrs["targetNamespace"], elements: map[string]*element{},
		complex: map[string]*complexType{}, simple: map[string]*simpleType{}}
	if s.Namespace == "" {
		return nil, fmt.Errorf("schema has no targetNamespace")
	}
	for _, c := range root.children {
		if c.name.Space != XSNamespace {
			return nil, unsupported(c)
		}
		switch c.name.Local {
		case "element":
			e, err := s.parseElement(c, true)
			if err != nil {
				return nil, err
			}
			s.elements[e.name] = e
		case "complexType":
			ct, err := s.parseComplex(c)
			if err != nil {
				return nil, err
			}
			s.complex[ct.name] = ct
		case "simpleType":
			st, err := s.parseSimple(c)
			if err != nil {
				return nil, err
			}
			s.simple[st.name] = st
		case "annotation":
		default:
			return nil, unsupported(c)
		}
	}
	if err := s.resolve(); err != nil {
		return nil, err
	}
	return s, nil
}

func unsupported(n *node) error {
	return fmt.Errorf("line %d: xs:%s is outside the supported XSD subset", n.line, n.name.Local)
}

func occurs(n *node, attr string, def int) (int, error) {
	v, ok := n.attrs[attr]
	if !ok {
		return def, nil
	}
	if v == "unbounded" && attr == "maxOccurs" {
		return -1, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("line %d: %s=%q is not a count", n.line, attr, v)
	}
	return i, nil
}

// qname resolves a type reference to "xs:<local>" for built-ins or the
// local name of a type in the target namespace.
func (s *Schema) qname(n *node, ref string) (string, error) {
	prefix, local, ok := strings.Cut(ref, ":")
	if !ok {
		prefix, local = "", ref
	}
	ns, found := n.ns[prefix]
	if !found {
		return "", fmt.Errorf("line %d: type %q has an undeclared prefix", n.line, ref)
	}
	switch ns {
	case XSNamespace:
		if _, ok := builtins[local]; !ok {
			return "", fmt.Errorf("line %d: built-in type xs:%s is outside the supported XSD subset", n.line, local)
		}
		return "xs:" + local, nil
	case s.Namespace:
		return local, nil
	}
	return "", fmt.Errorf("line %d: type %q is in namespace %s, which this schema does not define", n.line, ref, ns)
}

func (s *Schema) parseElement(n *node, global bool) (*element, error) {
	e := &element{name: n.attrs["name"], min: 1, max: 1}
	if e.name == "" {
		return nil, fmt.Errorf("line %d: xs:element without name (ref= is outside the supported subset)", n.line)
	}
	if !global {
		var err error
		if e.min, err = occurs(n, "minOccurs", 1); err != nil {
			return nil, err
		}
		if e.max, err = occurs(n, "maxOccurs", 1); err != nil {
			return nil, err
		}
	}
	for k := range n.attrs {
		switch k {
		case "name", "type", "minOccurs", "maxOccurs":
		default:
			return nil, fmt.Errorf("line %d: attribute %s of xs:element is outside the supported subset", n.line, k)
		}
	}
	if t, ok := n.attrs["type"]; ok {
		ref, err := s.qname(n, t)
		if err != nil {
			return nil, err
		}
		e.typeRef = ref
	}
	for _, c := range n.children {
		switch {
		case c.name.Local == "annotation":
		case c.name.Local == "complexType" && e.typeRef == "" && e.complex == nil && e.simple == nil:
			ct, err := s.parseComplex(c)
			if err != nil {
				return nil, err
			}
			e.complex = ct
		case c.name.Local == "simpleType" && e.typeRef == "" && e.complex == nil && e.simple == nil:
			st, err := s.parseSimple(c)
			if err != nil {
				return nil, err
			}
			e.simple = st
		default:
			return nil, unsupported(c)
		}
	}
	if e.typeRef == "" && e.complex == nil && e.simple == nil {
		return nil, fmt.Errorf("line %d: element %s has no type", n.line, e.name)
	}
	return e, nil
}

func (s *Schema) parseComplex(n *node) (*complexType, error) {
	ct := &complexType{name: n.attrs["name"]}
	for _, c := range n.children {
		switch c.name.Local {
		case "annotation":
		case "sequence":
			if ct.seq != nil {
				return nil, unsupported(c)
			}
			ct.seq = []*particle{}
			for _, p := range c.children {
				switch p.name.Local {
				case "annotation":
				case "element":
					e, err := s.parseElement(p, false)
					if err != nil {
						return nil, err
					}
					ct.seq = append(ct.seq, &particle{el: e, min: e.min, max: e.max})
				case "choice":
					pt := &particle{}
					var err error
					if pt.min, err = occurs(p, "minOccurs", 1); err != nil {
						return nil, err
					}
					if pt.max, err = occurs(p, "maxOccurs", 1); err != nil {
						return nil, err
					}
					for _, alt := range p.children {
						if alt.name.Local == "annotation" {
							continue
						}
						if alt.name.Local != "element" {
							return nil, unsupported(alt)
						}
						e, err := s.parseElement(alt, false)
						if err != nil {
							return nil, err
						}
						if e.min != 1 || e.max != 1 {
							return nil, fmt.Errorf("line %d: occurrence bounds on choice alternatives are outside the supported subset; put them on xs:choice", alt.line)
						}
						pt.choice = append(pt.choice, e)
					}
					ct.seq = append(ct.seq, pt)
				default:
					return nil, unsupported(p)
				}
			}
		case "attribute":
			a := &attribute{name: c.attrs["name"], required: c.attrs["use"] == "required"}
			if a.name == "" {
				return nil, fmt.Errorf("line %d: xs:attribute without name", c.line)
			}
			if u := c.attrs["use"]; u != "" && u != "required" && u != "optional" {
				return nil, fmt.Errorf("line %d: use=%q is outside the supported subset", c.line, u)
			}
			if t, ok := c.attrs["type"]; ok {
				ref, err := s.qname(c, t)
				if err != nil {
					return nil, err
				}
				a.typeRef = ref
			} else {
				return nil, fmt.Errorf("line %d: attribute %s needs a type= (inline types are outside the supported subset)", c.line, a.name)
			}
			ct.attrs = append(ct.attrs, a)
		default:
			return nil, unsupported(c)
		}
	}
	return ct, nil
}

func (s *Schema) parseSimple(n *node) (*simpleType, error) {
	st := &simpleType{name: n.attrs["name"], minLen: -1, maxLen: -1, fractionDigits: -1}
	var restr *node
	for _, c := range n.children {
		switch c.name.Local {
		case "annotation":
		case "restriction":
			restr = c
		default:
			return nil, unsupported(c)
		}
	}
	if restr == nil {
		return nil, fmt.Errorf("line %d: simple type %s has no xs:restriction", n.line, st.name)
	}
	base, err := s.qname(restr, restr.attrs["base"])
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(base, "xs:") {
		st.base = strings.TrimPrefix(base, "xs:")
	} else {
		st.baseRef = base
	}
	for _, f := range restr.children {
		v := f.attrs["value"]
		switch f.name.Local {
		case "annotation":
		case "enumeration":
			st.enums = append(st.enums, v)
		case "pattern":
			re, err := regexp.Compile(`^(?:` + v + `)$`)
			if err != nil {
				return nil, fmt.Errorf("line %d: pattern %q: %w", f.line, v, err)
			}
			st.patterns = append(st.patterns, re)
			st.patternSrc = append(st.patternSrc, v)
		case "minLength", "maxLength", "totalDigits", "fractionDigits":
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				return nil, fmt.Errorf("line %d: %s=%q is not a count", f.line, f.name.Local, v)
			}
			switch f.name.Local {
			case "minLength":
				st.minLen = i
			case "maxLength":
				st.maxLen = i
			case "totalDigits":
				st.totalDigits = i
			case "fractionDigits":
				st.fractionDigits = i
			}
		default:
			return nil, unsupported(f)
		}
	}
	return st, nil
}

// resolve links type references and checks that they exist.
func (s *Schema) resolve() error {
	var resolveEl func(e *element) error
	resolveCT := func(ct *complexType) error {
		for _, p := range ct.seq {
			els := p.choice
			if p.el != nil {
				els = []*element{p.el}
			}
			for _, e := range els {
				if err := resolveEl(e); err != nil {
					return err
				}
			}
		}
		for _, a := range ct.attrs {
			st, err := s.simpleRef(a.typeRef)
			if err != nil {
				return fmt.Errorf("attribute %s: %w", a.name, err)
			}
			a.typ = st
		}
		return nil
	}
	resolveEl = func(e *element) error {
		if e.typeRef != "" {
			if ct, ok := s.complex[e.typeRef]; ok {
				e.complex = ct
				return nil
			}
			st, err := s.simpleRef(e.typeRef)
			if err != nil {
				return fmt.Errorf("element %s: %w", e.name, err)
			}
			e.simple = st
			return nil
		}
		if e.complex != nil && e.complex.name == "" {
			return resolveCT(e.complex)
		}
		return s.resolveSimple(e.simple)
	}
	for _, ct := range s.complex {
		if err := resolveCT(ct); err != nil {
			return err
		}
	}
	for _, st := range s.simple {
		if err := s.resolveSimple(st); err != nil {
			return err
		}
	}
	for _, e := range s.elements {
		if err := resolveEl(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schema) simpleRef(ref string) (*simpleType, error) {
	if b, ok := strings.CutPrefix(ref, "xs:"); ok {
		return &simpleType{name: ref, base: b, minLen: -1, maxLen: -1, fractionDigits: -1}, nil
	}
	st, ok := s.simple[ref]
	if !ok {
		return nil, fmt.Errorf("type %s is not defined", ref)
	}
	return st, nil
}

// resolveSimple flattens a restriction of a named simple type into one of
// a built-in (facets of both apply).
func (s *Schema) resolveSimple(st *simpleType) error {
	if st == nil || st.baseRef == "" {
		return nil
	}
	base, ok := s.simple[st.baseRef]
	if !ok {
		return fmt.Errorf("simple type %s restricts undefined type %s", st.name, st.baseRef)
	}
	if base == st {
		return fmt.Errorf("simple type %s restricts itself", st.name)
	}
	if err := s.resolveSimple(base); err != nil {
		return err
	}
	st.base, st.baseRef = base.base, ""
	st.patterns = append(append([]*regexp.Regexp(nil), base.patterns...), st.patterns...)
	st.patternSrc = append(append([]string(nil), base.patternSrc...), st.patternSrc...)
	if len(st.enums) == 0 {
		st.enums = base.enums
	}
	if st.minLen < 0 {
		st.minLen = base.minLen
	}
	if st.maxLen < 0 {
		st.maxLen = base.maxLen
	}
	if st.totalDigits == 0 {
		st.totalDigits = base.totalDigits
	}
	if st.fractionDigits < 0 {
		st.fractionDigits = base.fractionDigits
	}
	return nil
}
