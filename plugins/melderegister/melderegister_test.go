package melderegister_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins/melderegister"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

func embedded(t *testing.T) *melderegister.Register {
	t.Helper()
	t.Setenv(melderegister.EnvData, "")
	r, err := melderegister.LoadRegister()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLookup(t *testing.T) {
	r := embedded(t)
	erika := melderegister.Query{FamilyName: "Mustermann", GivenNames: "Erika", BirthDate: "1964-08-12",
		Street: "Anger", HouseNumber: "1", Postcode: "99084", On: "2027-03-10"}
	lea := melderegister.Query{FamilyName: "Probe", GivenNames: "Lea  Marie", BirthDate: "1988-01-15",
		Street: "Johannesstr.", HouseNumber: "5", Postcode: "99084", On: "2026-09-30"}
	with := func(q melderegister.Query, f func(*melderegister.Query)) melderegister.Query { f(&q); return q }
	for _, c := range []struct {
		name       string
		q          melderegister.Query
		registered bool
		kind       string
		known      bool
		since      string
	}{
		{"Hauptwohnung at the address", erika, true, "hauptwohnung", true, "2019-04-01"},
		{"names in other case", with(erika, func(q *melderegister.Query) { q.FamilyName, q.GivenNames = "MUSTERMANN", "erika" }), true, "hauptwohnung", true, "2019-04-01"},
		{"before moving in", with(erika, func(q *melderegister.Query) { q.On = "2019-03-31" }), false, "keine", true, ""},
		{"another house number", with(erika, func(q *melderegister.Query) { q.HouseNumber = "2" }), false, "keine", true, ""},
		{"another birth date: another person", with(erika, func(q *melderegister.Query) { q.BirthDate = "1964-08-13" }), false, "keine", false, ""},
		{"Nebenwohnung only", melderegister.Query{FamilyName: "Beispiel", GivenNames: "Jonas", BirthDate: "1995-11-20",
			Street: "Marktstrasse", HouseNumber: "12", Postcode: "99084", On: "2027-01-04"}, true, "nebenwohnung", true, "2024-10-01"},
		// Moved out on 1 October 2026: registered on the day before, not on the day.
		{"last day at the old address", lea, true, "hauptwohnung", true, "2015-06-01"},
		{"the day of moving out", with(lea, func(q *melderegister.Query) { q.On = "2026-10-01" }), false, "keine", true, ""},
		{"the new address", with(lea, func(q *melderegister.Query) {
			q.Street, q.HouseNumber, q.Postcode, q.On = "Leipziger Straße", "40", "99085", "2026-10-01"
		}), true, "hauptwohnung", true, "2026-10-01"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := r.Lookup(c.q)
			if err != nil {
				t.Fatal(err)
			}
			if a.Registered != c.registered || a.Kind != c.kind || a.PersonKnown != c.known || a.Since != c.since ||
				a.Hauptwohnung != (c.kind == "hauptwohnung") || a.Register != "erfurt-muster-2026-12" || a.On != c.q.On {
				t.Errorf("answer %+v, want registered=%v kind=%s known=%v since=%q", a, c.registered, c.kind, c.known, c.since)
			}
		})
	}
	if _, err := r.Lookup(with(erika, func(q *melderegister.Query) { q.On = "10.03.2027" })); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Errorf("a German date: %v", err)
	}
}

func TestRegisterFileReplacesEmbedded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "weimar.yaml")
	src := `id: weimar-1
authority: Bürgerbüro Weimar
municipality: Weimar
legalBasis: "§ 34 BMG"
residents:
  - {familyName: Goethe, givenNames: Johann Wolfgang, birthDate: "1949-08-28", kind: hauptwohnung, since: "2000-01-01",
     address: {street: Frauenplan, houseNumber: "1", postcode: "99423", place: Weimar}}
`
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(melderegister.EnvData, p)
	r, err := melderegister.LoadRegister()
	if err != nil {
		t.Fatal(err)
	}
	if r.Municipality != "Weimar" || len(r.Residents) != 1 {
		t.Errorf("register %+v", r)
	}
}

func TestInvalidRegisters(t *testing.T) {
	base := "id: x\nmunicipality: X\nresidents:\n"
	for name, c := range map[string]struct{ src, want string }{
		"no id":     {"municipality: X\n", "id and municipality are required"},
		"bad kind":  {base + "  - {familyName: A, givenNames: B, birthDate: \"2000-01-01\", kind: zweitwohnung, since: \"2020-01-01\", address: {street: S, postcode: \"99084\"}}\n", `kind "zweitwohnung"`},
		"bad date":  {base + "  - {familyName: A, givenNames: B, birthDate: \"1.1.2000\", kind: hauptwohnung, since: \"2020-01-01\", address: {street: S, postcode: \"99084\"}}\n", `birthDate: "1.1.2000" is not a date`},
		"no street": {base + "  - {familyName: A, givenNames: B, birthDate: \"2000-01-01\", kind: hauptwohnung, since: \"2020-01-01\", address: {postcode: \"99084\"}}\n", "street and postcode are required"},
		"typo":      {"id: x\nmunicipality: X\nresident: []\n", "field resident not found"},
		"nameless":  {base + "  - {familyName: A, birthDate: \"2000-01-01\", kind: hauptwohnung, since: \"2020-01-01\", address: {street: S, postcode: \"99084\"}}\n", "familyName and givenNames are required"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := melderegister.ParseRegister([]byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestPluginOverGRPC(t *testing.T) {
	conn := sdktest.Start(t, melderegister.New(embedded(t)))
	var a melderegister.Answer
	err := conn.Call(context.Background(), "residence", map[string]any{"familyName": "Mustermann", "givenNames": "Erika",
		"birthDate": "1964-08-12", "street": "Anger", "houseNumber": "1", "postcode": "99084", "on": "2027-03-10"}, &a)
	if err != nil || !a.Registered || !a.Hauptwohnung {
		t.Fatalf("answer %+v, %v", a, err)
	}
	// The input schema refuses a postcode that is not one.
	err = conn.Call(context.Background(), "residence", map[string]any{"familyName": "Mustermann", "givenNames": "Erika",
		"birthDate": "1964-08-12", "street": "Anger", "houseNumber": "1", "postcode": "9908", "on": "2027-03-10"}, &a)
	if err == nil || !strings.Contains(err.Error(), "postcode") {
		t.Errorf("a four-digit postcode: %v", err)
	}
}
