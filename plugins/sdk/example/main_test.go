package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

func TestGreet(t *testing.T) {
	conn := sdktest.Start(t, Plugin())
	ctx := context.Background()

	cases := []struct {
		in   GreetInput
		want string
	}{
		{GreetInput{Name: "Erika Mustermann"}, "Hallo, Erika Mustermann!"},
		{GreetInput{Name: "Erika Mustermann", Formal: true}, "Guten Tag, Erika Mustermann!"},
		{GreetInput{Name: "Jane Doe", Language: "en"}, "Hello, Jane Doe!"},
	}
	for _, c := range cases {
		var out GreetOutput
		if err := conn.Call(ctx, "greet", c.in, &out); err != nil {
			t.Fatalf("greet %+v: %v", c.in, err)
		}
		if out.Text != c.want {
			t.Errorf("greet %+v = %q, want %q", c.in, out.Text, c.want)
		}
	}
}

func TestGreetRejectsInvalidInput(t *testing.T) {
	conn := sdktest.Start(t, Plugin())
	ctx := context.Background()

	// Schema violation: the language is not one of the enum values.
	err := conn.Call(ctx, "greet", map[string]any{"name": "Erika", "language": "fr"}, nil)
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "/language") {
		t.Fatalf("language fr: got %v, want a final error naming /language", err)
	}
	// Handler's own final error.
	err = conn.Call(ctx, "greet", GreetInput{Name: "   "}, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "blank") {
		t.Fatalf("blank name: got %v, want a final error", err)
	}
}

func TestDescribe(t *testing.T) {
	conn := sdktest.Start(t, Plugin())
	if conn.Manifest.Name != "greeting" || len(conn.Manifest.Activities) != 1 {
		t.Fatalf("manifest = %+v", conn.Manifest)
	}
	var schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(conn.Manifest.Activities[0].Input, &schema); err != nil {
		t.Fatal(err)
	}
	if len(schema.Required) != 1 || schema.Required[0] != "name" || len(schema.Properties) != 3 {
		t.Fatalf("derived input schema = %s", conn.Manifest.Activities[0].Input)
	}
}
