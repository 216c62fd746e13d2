package jsonvalidate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const dateSchema = `{"type":"object","required":["day"],"properties":{"day":{"type":"string","format":"date"},"n":{"type":"integer"}}}`

func TestValidateNamesEachField(t *testing.T) {
	t.Parallel()
	s, err := Compile(json.RawMessage(dateSchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(json.RawMessage(`{"day":"2025-01-06","n":3}`)); err != nil {
		t.Fatalf("valid document rejected: %v", err)
	}
	err = s.Validate(json.RawMessage(`{"n":"drei"}`))
	var fe Errors
	if !errors.As(err, &fe) {
		t.Fatalf("want Errors, got %v", err)
	}
	fields := map[string]bool{}
	for _, e := range fe {
		fields[e.Field] = true
	}
	if !fields["/n"] || !fields[""] {
		t.Fatalf("want errors at /n (wrong type) and the document (missing day), got %v", fe)
	}
	if err := s.Validate(json.RawMessage(`{`)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("broken document: %v", err)
	}
}

// TestCompileDocumentOptions: formats are annotations unless asserted, and
// a loader decides what a reference outside the document may load.
func TestCompileDocumentOptions(t *testing.T) {
	t.Parallel()
	bad, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"day":"6.1.2025"}`))
	if err != nil {
		t.Fatal(err)
	}
	loose, err := CompileDocument("urn:test:loose", []byte(dateSchema), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := loose.Validate(bad); err != nil {
		t.Fatalf("format asserted without AssertFormat: %v", err)
	}
	strict, err := CompileDocument("urn:test:strict", []byte(dateSchema), Options{AssertFormat: true})
	if err != nil {
		t.Fatal(err)
	}
	err = strict.Validate(bad)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("AssertFormat: want a validation error for 6.1.2025, got %v", err)
	}
	leaves := Leaves(ve)
	if len(leaves) != 1 || strings.Join(leaves[0].InstanceLocation, "/") != "day" {
		t.Fatalf("want one finding at day, got %v", leaves)
	}

	_, err = CompileDocument("urn:test:ref", []byte(`{"$ref":"https://example.org/x.json"}`), Options{Loader: refuse{}})
	if err == nil || !strings.Contains(err.Error(), "refused https://example.org/x.json") {
		t.Fatalf("the loader was not asked: %v", err)
	}
	var nj *NotJSONError
	if _, err := CompileDocument("urn:test:broken", []byte(`{"type":`), Options{}); !errors.As(err, &nj) {
		t.Fatalf("want NotJSONError, got %v", err)
	}
}

type refuse struct{}

func (refuse) Load(url string) (any, error) { return nil, fmt.Errorf("refused %s", url) }

// TestCachedIsBounded: however many schemas pass through Cached, it keeps
// at most cacheSize, and an evicted one compiles again.
func TestCachedIsBounded(t *testing.T) {
	t.Parallel()
	for i := range cacheSize + 10 {
		if _, err := Cached(fmt.Sprintf("bounded-%d", i), json.RawMessage(dateSchema)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n > cacheSize {
		t.Fatalf("the schema cache holds %d schemas, more than its bound %d", n, cacheSize)
	}
	s, err := Cached("bounded-0", json.RawMessage(`{"type":"integer"}`))
	if err != nil {
		t.Fatal(err)
	}
	// bounded-0 was evicted, so the new schema was compiled, not the old one
	// returned.
	if err := s.Validate(json.RawMessage(`"x"`)); err == nil {
		t.Fatal(`bounded-0 still answers with the evicted schema: "x" accepted as integer`)
	}
}
