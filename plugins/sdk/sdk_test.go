package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

type in struct {
	N int `json:"n" jsonschema:"minimum=0"`
}

type out struct {
	Double int `json:"double"`
}

func testPlugin() sdk.Plugin {
	return sdk.Plugin{Name: "calc", Version: "1.0.0", Activities: []sdk.Activity{
		sdk.Typed("double", "Doubles n", func(_ context.Context, c sdk.CallInfo, in in) (out, error) {
			switch in.N {
			case 13:
				panic("unlucky")
			case 7:
				return out{}, errors.New("database busy")
			case 8:
				return out{}, sdk.Finalf("eight is not allowed")
			}
			return out{Double: 2 * in.N}, nil
		}),
		{
			Name: "broken", Description: "Returns output that breaks its own schema",
			Output: sdk.SchemaFor[out](),
			Handler: func(context.Context, sdk.CallInfo, json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{"double":"two"}`), nil
			},
		},
	}}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	conn := sdktest.Start(t, testPlugin())
	ctx := context.Background()
	var o out
	if err := conn.Call(ctx, "double", in{N: 21}, &o); err != nil || o.Double != 42 {
		t.Fatalf("double 21 = %+v, %v", o, err)
	}
	for _, c := range []struct {
		n         int
		retryable bool
		contains  string
	}{
		{13, false, "panicked: unlucky"},
		{7, true, "database busy"},
		{8, false, "eight is not allowed"},
		{-1, false, "/n"},
	} {
		err := conn.Call(ctx, "double", in{N: c.n}, nil)
		var pe *plugins.Error
		if !errors.As(err, &pe) || pe.Retryable != c.retryable || !strings.Contains(pe.Message, c.contains) {
			t.Errorf("n=%d: got %v, want retryable=%v mentioning %q", c.n, err, c.retryable, c.contains)
		}
	}
	err := conn.Call(ctx, "broken", nil, nil)
	if !sdk.IsFinal(err) || !strings.Contains(err.Error(), "plugin bug") {
		t.Errorf("output breaking the schema: %v", err)
	}
	err = conn.Call(ctx, "triple", in{N: 1}, nil)
	if !sdk.IsFinal(err) || !strings.Contains(err.Error(), "calc.double") {
		t.Errorf("unknown activity: %v", err)
	}
}

func TestInProcessChecksThePlugin(t *testing.T) {
	t.Parallel()
	h := func(context.Context, sdk.CallInfo, json.RawMessage) (json.RawMessage, error) { return nil, nil }
	for name, c := range map[string]struct {
		p    sdk.Plugin
		want string
	}{
		"bad plugin name": {sdk.Plugin{Name: "Calc", Version: "1"}, "plugin name"},
		"no version":      {sdk.Plugin{Name: "calc"}, "version"},
		"bad activity":    {sdk.Plugin{Name: "calc", Version: "1", Activities: []sdk.Activity{{Name: "a.b", Handler: h}}}, "activity name"},
		"duplicate":       {sdk.Plugin{Name: "calc", Version: "1", Activities: []sdk.Activity{{Name: "a", Handler: h}, {Name: "a", Handler: h}}}, "twice"},
		"no handler":      {sdk.Plugin{Name: "calc", Version: "1", Activities: []sdk.Activity{{Name: "a"}}}, "no handler"},
		"bad schema":      {sdk.Plugin{Name: "calc", Version: "1", Activities: []sdk.Activity{{Name: "a", Handler: h, Input: json.RawMessage(`{"type":"thing"}`)}}}, "input"},
	} {
		if _, err := sdk.InProcess(c.p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.want)
		}
	}
}

func TestSchemaFor(t *testing.T) {
	t.Parallel()
	var s map[string]any
	if err := json.Unmarshal(sdk.SchemaFor[in](), &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	if s["type"] != "object" || s["additionalProperties"] != false || props["n"].(map[string]any)["minimum"] != 0.0 {
		t.Fatalf("schema = %v", s)
	}
}

func TestLoggerWritesHCLogJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := sdk.NewLogger(&buf, slog.LevelDebug)
	l.Warn("Fachverfahren langsam", "ms", 1200)
	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
		t.Fatal(err)
	}
	if entry["@level"] != "warn" || entry["@message"] != "Fachverfahren langsam" || entry["ms"] != 1200.0 || entry["@timestamp"] == nil {
		t.Fatalf("entry = %v", entry)
	}
}
