// Package jsonvalidate is Amtsweg's one wrapper of the JSON Schema library
// (santhosh-tekuri/jsonschema): it compiles schemas the same way for every
// user (CompileDocument: draft 2020-12 unless the schema says otherwise),
// walks a validation error down to its causes (Leaves), and validates JSON
// documents (application payloads, task form data, event data) against
// the schemas of procedure definitions, reporting each violation with the
// field it concerns so an API can show the error next to the field.
//
// Its users word the errors for their audience: plugins (the SDK's
// activity schemas), definitions (the designer's checks of embedded
// schemas and of the definition language itself) and the runtime checks of
// the workers and the API.
package jsonvalidate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema.
type Schema struct{ s *jsonschema.Schema }

// FieldError is one violation: Field is a JSON pointer into the document
// ("/buildingCosts"; "" for the document itself), Message says what is
// wrong in English and MessageDE in German (empty for the rare keywords
// without a German text; In falls back to Message then).
type FieldError struct {
	Field     string `json:"field"`
	Message   string `json:"message"`
	MessageDE string `json:"messageDe,omitempty"`
}

// In returns the message in the language lang ("de" or "en"); English
// when there is no German text.
func (e FieldError) In(lang string) string {
	if lang == "de" && e.MessageDE != "" {
		return e.MessageDE
	}
	return e.Message
}

// Errors is a list of violations; it implements error.
type Errors []FieldError

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		f := fe.Field
		if f == "" {
			f = "(document)"
		}
		parts[i] = f + ": " + fe.Message
	}
	return strings.Join(parts, "; ")
}

// Options say how CompileDocument compiles a schema.
type Options struct {
	// AssertFormat makes "format" an assertion (a "format: date" field must
	// hold a date); by default draft 2020-12 only annotates it.
	AssertFormat bool
	// Loader loads schemas the document refers to outside itself; nil
	// keeps the library's default (file URLs).
	Loader jsonschema.URLLoader
}

// NotJSONError is CompileDocument's error for a schema that is not JSON.
type NotJSONError struct{ Err error }

func (e *NotJSONError) Error() string { return "not valid JSON: " + e.Err.Error() }
func (e *NotJSONError) Unwrap() error { return e.Err }

// CompileDocument compiles the JSON Schema document raw, located at url
// (which names it in the library's errors), with draft 2020-12 unless the
// document says otherwise. A document that is not JSON is a
// *NotJSONError; any other error is the library's, unwrapped, for the
// caller to word (a *jsonschema.SchemaValidationError when the document
// breaks the metaschema).
func CompileDocument(url string, raw []byte, o Options) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &NotJSONError{err}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if o.AssertFormat {
		c.AssertFormat()
	}
	if o.Loader != nil {
		c.UseLoader(o.Loader)
	}
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// Leaves returns the innermost causes of a validation error, depth first:
// the findings that say what is wrong where.
func Leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, Leaves(c)...)
	}
	return out
}

// Compile compiles a JSON Schema document for Validate.
func Compile(schema json.RawMessage) (*Schema, error) {
	s, err := CompileDocument("schema.json", schema, Options{})
	if nj := (*NotJSONError)(nil); errors.As(err, &nj) {
		return nil, fmt.Errorf("schema is not valid JSON: %w", nj.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return &Schema{s}, nil
}

// cacheSize bounds the compiled schemas Cached keeps: one entry per
// schema in use (an application schema, form or event schema of a deployed
// definition version). 1024 covers the schemas of many dozens of
// definition versions in service at once; beyond it the least recently
// used is compiled again on next use, so memory stays bounded however many
// versions are ever deployed.
const cacheSize = 1024

var cache = func() *lru.Cache[string, *Schema] {
	c, err := lru.New[string, *Schema](cacheSize)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return c
}()

// Cached compiles schema once per key (e.g. definition hash + form id),
// keeping the most recently used schemas (see cacheSize).
func Cached(key string, schema json.RawMessage) (*Schema, error) {
	if s, ok := cache.Get(key); ok {
		return s, nil
	}
	s, err := Compile(schema)
	if err != nil {
		return nil, err
	}
	cache.Add(key, s)
	return s, nil
}

// Validate checks doc against the schema. It returns nil or Errors.
func (s *Schema) Validate(doc json.RawMessage) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return Errors{{Field: "", Message: "not valid JSON: " + err.Error(),
			MessageDE: "Die Angaben sind kein gültiges JSON: " + err.Error()}}
	}
	return s.ValidateValue(inst)
}

// ValidateValue checks an already decoded value (as produced by
// jsonschema.UnmarshalJSON or encoding/json with UseNumber).
func (s *Schema) ValidateValue(v any) error {
	err := s.s.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return Errors{{Message: err.Error()}}
	}
	var out Errors
	var walk func(u *jsonschema.OutputUnit)
	walk = func(u *jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			out = append(out, FieldError{Field: u.InstanceLocation, Message: u.Error.String(), MessageDE: germanMessage(u.Error.Kind)})
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(ve.BasicOutput())
	if len(out) == 0 {
		out = Errors{{Message: ve.Error()}}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}
