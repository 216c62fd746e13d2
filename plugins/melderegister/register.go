package melderegister

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

//go:embed register/erfurt-muster.yaml
var defaultRegister []byte

// EnvData names the environment variable with the path of a register file
// that replaces the embedded one.
const EnvData = "AMTSWEG_MELDEREGISTER_DATA"

// Kinds of residence (§ 21 BMG: a person with several dwellings has one
// Hauptwohnung, the others are Nebenwohnungen).
const (
	Hauptwohnung = "hauptwohnung"
	Nebenwohnung = "nebenwohnung"
)

// Register is an extract of a municipality's population register.
type Register struct {
	// ID names the extract and its state, e.g. "erfurt-2026-12-01".
	ID string `yaml:"id"`
	// Authority is the registration office (Meldebehörde).
	Authority string `yaml:"authority"`
	// Municipality is the municipality whose register this is.
	Municipality string `yaml:"municipality"`
	// LegalBasis is the provision the lookup rests on.
	LegalBasis string `yaml:"legalBasis"`
	// Residents are the registered residences, one entry per person and
	// dwelling.
	Residents []Resident `yaml:"residents"`
}

// Resident is one registered residence of a person.
type Resident struct {
	FamilyName string  `yaml:"familyName"`
	GivenNames string  `yaml:"givenNames"`
	BirthDate  string  `yaml:"birthDate"`
	Address    Address `yaml:"address"`
	// Kind is Hauptwohnung or Nebenwohnung.
	Kind string `yaml:"kind"`
	// Since is the day the person moved in (YYYY-MM-DD).
	Since string `yaml:"since"`
	// Until is the day the person moved out; empty while registered.
	Until string `yaml:"until,omitempty"`
}

// Address is a dwelling's address.
type Address struct {
	Street      string `yaml:"street" json:"street"`
	HouseNumber string `yaml:"houseNumber" json:"houseNumber"`
	Postcode    string `yaml:"postcode" json:"postcode"`
	Place       string `yaml:"place" json:"place"`
}

// LoadRegister reads the register from $AMTSWEG_MELDEREGISTER_DATA, or the
// embedded one when unset.
func LoadRegister() (*Register, error) {
	if path := os.Getenv(EnvData); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read the register (%s): %w", EnvData, err)
		}
		r, err := ParseRegister(b)
		if err != nil {
			return nil, fmt.Errorf("register %s: %w", path, err)
		}
		return r, nil
	}
	r, err := ParseRegister(defaultRegister)
	if err != nil {
		return nil, fmt.Errorf("embedded register: %w", err)
	}
	return r, nil
}

// ParseRegister parses and checks a register file (YAML or JSON).
func ParseRegister(b []byte) (*Register, error) {
	var r Register
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if r.ID == "" || r.Municipality == "" {
		return nil, fmt.Errorf("id and municipality are required; name the extract (id: \"erfurt-2026-12-01\") and its municipality")
	}
	for i, p := range r.Residents {
		at := fmt.Sprintf("residents[%d]", i)
		if p.FamilyName == "" || p.GivenNames == "" {
			return nil, fmt.Errorf("%s: familyName and givenNames are required", at)
		}
		if p.Kind != Hauptwohnung && p.Kind != Nebenwohnung {
			return nil, fmt.Errorf("%s: kind %q: use %q or %q", at, p.Kind, Hauptwohnung, Nebenwohnung)
		}
		for field, d := range map[string]string{"birthDate": p.BirthDate, "since": p.Since, "until": p.Until} {
			if d == "" && field == "until" {
				continue
			}
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return nil, fmt.Errorf("%s.%s: %q is not a date (write YYYY-MM-DD)", at, field, d)
			}
		}
		if p.Address.Street == "" || p.Address.Postcode == "" {
			return nil, fmt.Errorf("%s.address: street and postcode are required", at)
		}
	}
	return &r, nil
}

// Query asks for a person's residence at an address on a day.
type Query struct {
	FamilyName  string `json:"familyName" jsonschema:"minLength=1,description=Family name as registered"`
	GivenNames  string `json:"givenNames" jsonschema:"minLength=1,description=Given names as registered"`
	BirthDate   string `json:"birthDate" jsonschema:"format=date,description=Day of birth (YYYY-MM-DD)"`
	Street      string `json:"street" jsonschema:"minLength=1,description=Street of the dwelling"`
	HouseNumber string `json:"houseNumber" jsonschema:"minLength=1,description=House number of the dwelling"`
	Postcode    string `json:"postcode" jsonschema:"pattern=^[0-9]{5}$,description=Postcode of the dwelling"`
	// On is the day the residence must exist (YYYY-MM-DD), e.g. the day of
	// the decision.
	On string `json:"on" jsonschema:"format=date,description=Day on which the residence must exist (YYYY-MM-DD)"`
}

// Answer is the register's answer.
type Answer struct {
	// Registered is true when the person is registered at the address on
	// the day.
	Registered bool `json:"registered"`
	// Kind is Hauptwohnung, Nebenwohnung, or "keine" when not registered.
	Kind string `json:"kind" jsonschema:"enum=hauptwohnung,enum=nebenwohnung,enum=keine"`
	// Hauptwohnung is Kind == Hauptwohnung, for conditions.
	Hauptwohnung bool `json:"hauptwohnung"`
	// Since is the day the person moved in; empty when not registered.
	Since string `json:"since,omitempty"`
	// PersonKnown is true when the register holds the person at all (at
	// another address or at another time).
	PersonKnown bool `json:"personKnown"`
	// On is the day asked about (Query.On), for letters that cite the
	// register's answer.
	On         string `json:"on"`
	Register   string `json:"register"`
	Authority  string `json:"authority"`
	LegalBasis string `json:"legalBasis"`
}

// Lookup answers q. A malformed day is an error.
func (r *Register) Lookup(q Query) (Answer, error) {
	on, err := time.Parse(time.DateOnly, q.On)
	if err != nil {
		return Answer{}, fmt.Errorf("on %q is not a date; write YYYY-MM-DD", q.On)
	}
	if _, err := time.Parse(time.DateOnly, q.BirthDate); err != nil {
		return Answer{}, fmt.Errorf("birthDate %q is not a date; write YYYY-MM-DD", q.BirthDate)
	}
	a := Answer{Kind: "keine", On: q.On, Register: r.ID, Authority: r.Authority, LegalBasis: r.LegalBasis}
	for _, p := range r.Residents {
		if !same(p.FamilyName, q.FamilyName) || !same(p.GivenNames, q.GivenNames) || p.BirthDate != q.BirthDate {
			continue
		}
		a.PersonKnown = true
		if !sameStreet(p.Address.Street, q.Street) || !same(p.Address.HouseNumber, q.HouseNumber) || p.Address.Postcode != q.Postcode {
			continue
		}
		since, _ := time.Parse(time.DateOnly, p.Since)
		if on.Before(since) {
			continue
		}
		if p.Until != "" {
			// The day of moving out is the first day not registered.
			if until, _ := time.Parse(time.DateOnly, p.Until); !on.Before(until) {
				continue
			}
		}
		// A Hauptwohnung wins over a Nebenwohnung at the same address.
		if a.Registered && a.Kind == Hauptwohnung {
			continue
		}
		a.Registered, a.Kind, a.Since = true, p.Kind, p.Since
		a.Hauptwohnung = p.Kind == Hauptwohnung
	}
	return a, nil
}

// same compares names and numbers ignoring case and runs of spaces.
func same(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// sameStreet compares street names as same does and treats the common
// abbreviation "str." as "straße" (also "strasse"), so "Juri-Gagarin-Ring"
// matches itself and "Bahnhofstr. " matches "Bahnhofstraße".
func sameStreet(a, b string) bool {
	return same(normalStreet(a), normalStreet(b))
}

func normalStreet(s string) string {
	s = strings.ToLower(strings.TrimFunc(s, unicode.IsSpace))
	s = strings.ReplaceAll(s, "strasse", "straße")
	if strings.HasSuffix(s, "str.") {
		s = strings.TrimSuffix(s, "str.") + "straße"
	}
	return s
}
