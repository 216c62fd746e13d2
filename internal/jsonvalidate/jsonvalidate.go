// Package jsonvalidate validates JSON documents (application payloads, task
// form data, event data) against the JSON Schemas of procedure definitions
// and reports each violation with the field it concerns, so an API can show
// the error next to the field.
package jsonvalidate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema.
type Schema struct{ s *jsonschema.Schema }

// FieldError is one violation: Field is a JSON pointer into the document
// ("/buildingCosts"; "" for the document itself).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
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

// Compile compiles a JSON Schema document.
func Compile(schema json.RawMessage) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	s, err := c.Compile("schema.json")
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
		return Errors{{Field: "", Message: "not valid JSON: " + err.Error()}}
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
			out = append(out, FieldError{Field: u.InstanceLocation, Message: u.Error.String()})
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
