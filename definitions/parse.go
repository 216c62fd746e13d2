package definitions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse reads a procedure definition from YAML: it checks the document
// against the published JSON Schema (package schema) and decodes it into a
// Procedure. JSON Schemas written as YAML inside the document
// (applicationSchema, form and event schemas) end up as JSON.
//
// On failure the error is an ErrorList naming file, line and column of each
// problem. Parse does not check integrity (references, flow, expressions);
// Validate does, and Load does both.
func Parse(filename string, src []byte) (*Procedure, error) {
	tree, s, errs := parseTree(filename, src)
	if len(errs) > 0 {
		return nil, errs.sortAndDedup()
	}
	if errs := schemaErrors(s, tree); len(errs) > 0 {
		return nil, errs.sortAndDedup()
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		// The tree holds only JSON values; this would be a bug.
		return nil, ErrorList{{File: filename, Msg: fmt.Sprintf("encode document as JSON: %v", err)}}
	}
	p := &Procedure{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(p); err != nil {
		return nil, ErrorList{decodeError(s, err)}
	}
	p.src = s
	return p, nil
}

// parseTree parses YAML into generic JSON values plus positions.
func parseTree(filename string, src []byte) (any, *source, ErrorList) {
	s := &source{file: filename, pos: map[string]nodePos{}}
	if len(src) > maxSourceBytes {
		return nil, s, ErrorList{{File: filename, Msg: fmt.Sprintf("file is %d bytes, more than the %d a definition may have", len(src), maxSourceBytes), Fix: "split off large schemas or shorten texts"}}
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, s, ErrorList{{File: filename, Line: 1, Column: 1, Msg: "file is empty", Fix: "start with apiVersion: amtsweg.de/v1 and kind: Procedure"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := decodeYAML(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, s, ErrorList{{File: filename, Line: 1, Column: 1, Msg: "file holds no YAML document", Fix: "start with apiVersion: amtsweg.de/v1 and kind: Procedure"}}
		}
		return nil, s, ErrorList{yamlError(filename, err)}
	}
	var extra yaml.Node
	if err := decodeYAML(dec, &extra); err == nil {
		return nil, s, ErrorList{{File: filename, Line: extra.Line, Column: extra.Column, Msg: "file holds more than one YAML document", Fix: "put each procedure version in its own file and remove the '---' separator"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, s, ErrorList{yamlError(filename, err)}
	}
	c := &converter{src: s}
	tree := c.convert(&doc, "", nil, 0)
	return tree, s, c.errs
}

// decodeYAML shields callers from panics inside the YAML library: a
// malformed file must be reported, never crash the process.
func decodeYAML(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed on this input: %v", r)
		}
	}()
	return dec.Decode(n)
}

func yamlError(filename string, err error) Error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	e := Error{File: filename, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: "), Fix: "check indentation, colons and quotes around this line"}
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
		for _, pm := range yamlParserProblems {
			if strings.HasPrefix(m[2], pm) {
				// yaml.v3 reports parser errors at the 0-based line of the
				// structure being parsed (scanner errors are 1-based).
				e.Line++
				e.Msg += " in the block that starts here"
				break
			}
		}
	}
	return e
}

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner).
var yamlParserProblems = []string{
	"did not find expected key",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected ',' or",
	"did not find expected <",
	"found undefined tag handle",
	"found duplicate %",
	"found incompatible YAML document",
}

func decodeError(s *source, err error) Error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		p := strings.ReplaceAll(ute.Field, ".", "/")
		return s.errAt(p, fmt.Sprintf("cannot use a %s here, want %s", ute.Value, ute.Type), "")
	}
	return Error{File: s.fileName(), Msg: fmt.Sprintf("decode definition: %v", err)}
}
