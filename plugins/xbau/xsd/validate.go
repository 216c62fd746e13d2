package xsd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

var builtins = map[string]*regexp.Regexp{
	"string":             nil,
	"normalizedString":   nil,
	"token":              nil,
	"anyURI":             nil,
	"date":               regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$`),
	"dateTime":           regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$`),
	"decimal":            regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`),
	"integer":            regexp.MustCompile(`^[+-]?\d+$`),
	"nonNegativeInteger": regexp.MustCompile(`^\+?\d+$`),
	"positiveInteger":    regexp.MustCompile(`^\+?0*[1-9]\d*$`),
	"boolean":            regexp.MustCompile(`^(true|false|1|0)$`),
}

// ValidationError lists every violation found in a document.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "XML does not match the schema: " + strings.Join(e.Problems, "; ")
}

// inst is a parsed element of the instance document.
type inst struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*inst
	text     strings.Builder
	line     int
	path     string
}

// Validate checks doc against the schema: its root must be a global
// element of the schema. The error is a *ValidationError naming each
// violation with line and element path.
func (s *Schema) Validate(doc []byte) error {
	root, err := parseInstance(doc)
	if err != nil {
		return &ValidationError{Problems: []string{"not well-formed XML: " + err.Error()}}
	}
	v := &validator{}
	if root.name.Space != s.Namespace {
		v.add(root, "root element is in namespace %q, want %q", root.name.Space, s.Namespace)
	} else if decl, ok := s.elements[root.name.Local]; !ok {
		v.add(root, "%s is not a message this schema defines", root.name.Local)
	} else {
		v.element(s, decl, root)
	}
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

func parseInstance(doc []byte) (*inst, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*inst
	var root *inst
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			n := &inst{name: t.Name, attrs: t.Attr, line: line}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				n.path = p.path + "/" + t.Name.Local
				p.children = append(p.children, n)
			} else {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				n.path = "/" + t.Name.Local
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

type validator struct{ problems []string }

func (v *validator) add(n *inst, format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf("line %d: %s: %s", n.line, n.path, fmt.Sprintf(format, args...)))
}

func (v *validator) element(s *Schema, decl *element, n *inst) {
	if decl.simple != nil {
		if len(n.children) > 0 {
			v.add(n, "must hold text, not elements")
			return
		}
		v.attributes(n, nil)
		if msg := checkValue(decl.simple, n.text.String()); msg != "" {
			v.add(n, "%s", msg)
		}
		return
	}
	ct := decl.complex
	if strings.TrimSpace(n.text.String()) != "" {
		v.add(n, "must hold elements, not text")
	}
	v.attributes(n, ct.attrs)
	i := 0
	for _, p := range ct.seq {
		count := 0
		for i < len(n.children) && (p.max < 0 || count < p.max) {
			c := n.children[i]
			d := p.match(c, s.Namespace)
			if d == nil {
				break
			}
			v.element(s, d, c)
			i++
			count++
		}
		if count < p.min {
			found := "the end of " + n.name.Local
			if i < len(n.children) {
				found = n.children[i].name.Local
			}
			v.add(n, "expected %s (at least %d) but found %s", p.describe(), p.min, found)
		}
	}
	for ; i < len(n.children); i++ {
		c := n.children[i]
		v.add(c, "unexpected element %s here", c.name.Local)
	}
}

func (p *particle) match(c *inst, ns string) *element {
	if c.name.Space != ns {
		return nil
	}
	if p.el != nil {
		if p.el.name == c.name.Local {
			return p.el
		}
		return nil
	}
	for _, e := range p.choice {
		if e.name == c.name.Local {
			return e
		}
	}
	return nil
}

func (p *particle) describe() string {
	if p.el != nil {
		return p.el.name
	}
	names := make([]string, len(p.choice))
	for i, e := range p.choice {
		names[i] = e.name
	}
	return "one of " + strings.Join(names, ", ")
}

func (v *validator) attributes(n *inst, decls []*attribute) {
	seen := map[string]bool{}
	for _, a := range n.attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		var decl *attribute
		for _, d := range decls {
			if a.Name.Space == "" && d.name == a.Name.Local {
				decl = d
			}
		}
		if decl == nil {
			v.add(n, "attribute %s is not allowed", a.Name.Local)
			continue
		}
		seen[decl.name] = true
		if msg := checkValue(decl.typ, a.Value); msg != "" {
			v.add(n, "attribute %s: %s", decl.name, msg)
		}
	}
	for _, d := range decls {
		if d.required && !seen[d.name] {
			v.add(n, "attribute %s is required", d.name)
		}
	}
}

// checkValue checks a text value against a simple type; "" means valid.
func checkValue(st *simpleType, raw string) string {
	val := raw
	switch st.base {
	case "string":
	case "normalizedString":
		val = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(raw)
	default:
		val = strings.Join(strings.Fields(raw), " ")
	}
	if re := builtins[st.base]; re != nil && !re.MatchString(val) {
		return fmt.Sprintf("%q is not a valid xs:%s", val, st.base)
	}
	switch st.base {
	case "date":
		if _, err := time.Parse("2006-01-02", val[:min(10, len(val))]); err != nil {
			return fmt.Sprintf("%q is not a valid date", val)
		}
	case "dateTime":
		if _, err := time.Parse("2006-01-02T15:04:05", val[:min(19, len(val))]); err != nil {
			return fmt.Sprintf("%q is not a valid date and time", val)
		}
	}
	if len(st.enums) > 0 {
		ok := false
		for _, e := range st.enums {
			if e == val {
				ok = true
			}
		}
		if !ok {
			return fmt.Sprintf("%q is not one of %s", val, strings.Join(st.enums, ", "))
		}
	}
	for i, re := range st.patterns {
		if !re.MatchString(val) {
			return fmt.Sprintf("%q does not match the pattern %s", val, st.patternSrc[i])
		}
	}
	n := utf8.RuneCountInString(val)
	if st.minLen >= 0 && n < st.minLen {
		return fmt.Sprintf("%q is shorter than %d characters", val, st.minLen)
	}
	if st.maxLen >= 0 && n > st.maxLen {
		return fmt.Sprintf("%q is longer than %d characters", val, st.maxLen)
	}
	if st.base == "decimal" || strings.HasSuffix(st.base, "nteger") {
		digits := strings.TrimLeft(strings.TrimLeft(val, "+-"), "0")
		intPart, frac, _ := strings.Cut(digits, ".")
		frac = strings.TrimRight(frac, "0")
		if st.fractionDigits >= 0 && len(frac) > st.fractionDigits {
			return fmt.Sprintf("%q has more than %d decimal places", val, st.fractionDigits)
		}
		if st.totalDigits > 0 && len(intPart)+len(frac) > st.totalDigits {
			return fmt.Sprintf("%q has more than %d digits", val, st.totalDigits)
		}
	}
	return ""
}
