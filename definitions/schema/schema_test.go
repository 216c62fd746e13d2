package schema

import (
	"testing"
)

func TestCompiled(t *testing.T) {
	t.Parallel()
	sch, err := Compiled()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	if id := doc.(map[string]any)["$id"]; id != URL {
		t.Fatalf("$id = %v, want %s", id, URL)
	}
	// The schema accepts a minimal document and rejects a step of a type
	// the language does not have.
	ok := map[string]any{
		"apiVersion": "amtsweg.de/v1", "kind": "Procedure", "key": "k", "version": "1.0.0",
		"title": map[string]any{"de": "K"}, "validFrom": "2025-01-01", "calendar": "DE-TH",
		"applicationSchema": map[string]any{"type": "object"},
		"milestones":        []any{map[string]any{"id": "m", "title": map[string]any{"de": "M"}}},
		"start":             "e",
		"steps":             []any{map[string]any{"id": "e", "type": "end", "outcome": "done"}},
	}
	if err := sch.Validate(ok); err != nil {
		t.Fatalf("minimal document rejected: %v", err)
	}
	ok["steps"] = []any{map[string]any{"id": "e", "type": "goto", "outcome": "done"}}
	if err := sch.Validate(ok); err == nil {
		t.Fatal("step type goto accepted")
	}
}
