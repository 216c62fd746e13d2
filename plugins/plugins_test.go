package plugins_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
)

func TestSplitFullName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{"fees.compute": {"fees", "compute"}, "amtsweg.case-number": {"amtsweg", "case-number"}} {
		p, a, ok := plugins.SplitFullName(in)
		if !ok || p != want[0] || a != want[1] {
			t.Errorf("SplitFullName(%q) = %q, %q, %v", in, p, a, ok)
		}
	}
	for _, in := range []string{"fees", ".compute", "fees.", "a.b.c"} {
		if _, _, ok := plugins.SplitFullName(in); ok {
			t.Errorf("SplitFullName(%q) accepted", in)
		}
	}
}

func TestSchemaValidationMessages(t *testing.T) {
	t.Parallel()
	s, err := plugins.CompileSchema("input of fees.compute", json.RawMessage(`{
		"type":"object","required":["procedureType","buildingCosts"],"additionalProperties":false,
		"properties":{"procedureType":{"enum":["regular"]},"buildingCosts":{"type":"number","minimum":0},
		"items":{"type":"array","items":{"type":"integer"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(json.RawMessage(`{"procedureType":"regular","buildingCosts":1}`)); err != nil {
		t.Fatal(err)
	}
	err = s.Validate(json.RawMessage(`{"procedureType":"castle","buildingCosts":"viel","items":[1,"x"],"extra":1}`))
	if err == nil {
		t.Fatal("invalid input accepted")
	}
	for _, want := range []string{"input of fees.compute is invalid", "/procedureType", "/buildingCosts", "/items/1", "extra"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if err := s.Validate(json.RawMessage(`{`)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("broken JSON: %v", err)
	}
	if _, err := plugins.CompileSchema("x", json.RawMessage(`{"type":12}`)); err == nil {
		t.Error("invalid schema compiled")
	}
}

func TestManifestValidate(t *testing.T) {
	t.Parallel()
	ok := plugins.Manifest{Name: "fees", Version: "1.0.0", Activities: []plugins.ActivitySpec{{Plugin: "fees", Name: "compute", Input: json.RawMessage(`{"type":"object"}`)}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.Activities = []plugins.ActivitySpec{{Plugin: "other", Name: "compute"}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "names plugin") {
		t.Errorf("foreign activity: %v", err)
	}
}
