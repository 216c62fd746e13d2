package fees

import (
	_ "embed"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed schedule/thueringen.yaml
var defaultSchedule []byte

// EnvSchedule names the environment variable with the path of a schedule
// file that replaces the embedded one.
const EnvSchedule = "AMTSWEG_FEES_SCHEDULE"

// Schedule is a fee schedule. Amounts and rates are decimal strings so that
// no number passes through binary floating point.
type Schedule struct {
	ID         string               `yaml:"id" json:"id"`
	Title      string               `yaml:"title" json:"title"`
	LegalBasis string               `yaml:"legalBasis" json:"legalBasis"`
	ValidFrom  string               `yaml:"validFrom" json:"validFrom"`
	Currency   string               `yaml:"currency" json:"currency"`
	Rounding   string               `yaml:"rounding" json:"rounding"`
	Procedures map[string]Procedure `yaml:"procedures" json:"procedures"`
	Items      map[string]Item      `yaml:"items" json:"items"`
	// Withdrawal is the rule for an application withdrawn (or deemed
	// withdrawn) before the decision; nil: the schedule has none and a
	// withdrawn application cannot be charged by it.
	Withdrawal *Withdrawal `yaml:"withdrawal,omitempty" json:"withdrawal,omitempty"`
}

// Procedure is the fee of one procedure type: Rate per mille of the
// building costs, bounded by Minimum and Maximum.
type Procedure struct {
	Tarif   string `yaml:"tarif" json:"tarif"`
	Title   string `yaml:"title" json:"title"`
	Rate    string `yaml:"rate" json:"rate"`
	Minimum string `yaml:"minimum" json:"minimum"`
	Maximum string `yaml:"maximum" json:"maximum"`
}

// Item is an additional line item: either PerUnit (a fixed amount per
// unit) or Rate per mille of the building costs with an optional Minimum.
type Item struct {
	Tarif   string `yaml:"tarif" json:"tarif"`
	Title   string `yaml:"title" json:"title"`
	PerUnit string `yaml:"perUnit,omitempty" json:"perUnit,omitempty"`
	Rate    string `yaml:"rate,omitempty" json:"rate,omitempty"`
	Minimum string `yaml:"minimum,omitempty" json:"minimum,omitempty"`
}

// LoadSchedule reads the schedule from $AMTSWEG_FEES_SCHEDULE, or the
// embedded one when unset.
func LoadSchedule() (*Schedule, error) {
	if path := os.Getenv(EnvSchedule); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read fee schedule (%s): %w", EnvSchedule, err)
		}
		s, err := ParseSchedule(b)
		if err != nil {
			return nil, fmt.Errorf("fee schedule %s: %w", path, err)
		}
		return s, nil
	}
	s, err := ParseSchedule(defaultSchedule)
	if err != nil {
		return nil, fmt.Errorf("embedded fee schedule: %w", err)
	}
	return s, nil
}

// ParseSchedule parses and checks a schedule in YAML (or JSON, which is
// YAML).
func ParseSchedule(b []byte) (*Schedule, error) {
	var s Schedule
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Schedule) check() error {
	if s.ID == "" {
		return fmt.Errorf("id is empty; give the schedule a version id such as \"th-bau-2024-01\"")
	}
	if s.Currency != "EUR" {
		return fmt.Errorf("currency %q: only EUR is supported", s.Currency)
	}
	if s.Rounding != "cent" && s.Rounding != "euro" {
		return fmt.Errorf("rounding %q: use \"cent\" or \"euro\"", s.Rounding)
	}
	if len(s.Procedures) == 0 {
		return fmt.Errorf("no procedures: add at least one procedure type")
	}
	for name, p := range s.Procedures {
		for field, v := range map[string]string{"rate": p.Rate, "minimum": p.Minimum, "maximum": p.Maximum} {
			if _, err := decimal(v); err != nil {
				return fmt.Errorf("procedures.%s.%s: %w", name, field, err)
			}
		}
		lo, _ := decimal(p.Minimum)
		hi, _ := decimal(p.Maximum)
		if lo.Cmp(hi) > 0 {
			return fmt.Errorf("procedures.%s: minimum %s is above maximum %s", name, p.Minimum, p.Maximum)
		}
	}
	if w := s.Withdrawal; w != nil {
		sh, err := decimal(w.Share)
		if err != nil {
			return fmt.Errorf("withdrawal.share: %w", err)
		}
		if sh.Sign() < 0 || sh.Cmp(big.NewRat(1, 1)) > 0 {
			return fmt.Errorf("withdrawal.share %s: give a share between 0 and 1", w.Share)
		}
		if w.Minimum != "" {
			if _, err := decimal(w.Minimum); err != nil {
				return fmt.Errorf("withdrawal.minimum: %w", err)
			}
		}
	}
	for name, it := range s.Items {
		if (it.PerUnit == "") == (it.Rate == "") {
			return fmt.Errorf("items.%s: set exactly one of perUnit and rate", name)
		}
		for field, v := range map[string]string{"perUnit": it.PerUnit, "rate": it.Rate, "minimum": it.Minimum} {
			if v == "" {
				continue
			}
			if _, err := decimal(v); err != nil {
				return fmt.Errorf("items.%s.%s: %w", name, field, err)
			}
		}
	}
	return nil
}

// Withdrawal charges a share of the procedure fee when the application is
// withdrawn or deemed withdrawn before the decision.
type Withdrawal struct {
	Tarif string `yaml:"tarif" json:"tarif"`
	Title string `yaml:"title" json:"title"`
	// Share is the part of the procedure fee charged, a decimal between 0
	// and 1 (e.g. "0.25").
	Share string `yaml:"share" json:"share"`
	// Minimum bounds the charged share from below; empty for none.
	Minimum string `yaml:"minimum,omitempty" json:"minimum,omitempty"`
}

// ProcedureTypes lists the schedule's procedure types, sorted.
func (s *Schedule) ProcedureTypes() []string {
	out := make([]string, 0, len(s.Procedures))
	for k := range s.Procedures {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Input is what a fee is computed from.
type Input struct {
	// ProcedureType is one of the schedule's procedure types.
	ProcedureType string `json:"procedureType"`
	// BuildingCosts are the building costs (Baukosten) in EUR as stated in
	// the application.
	BuildingCosts float64 `json:"buildingCosts"`
	// Exemptions counts decisions on deviations, exceptions or exemptions.
	Exemptions int `json:"exemptions,omitempty"`
	// StructuralReview is true when the authority reviews the structural
	// documents.
	StructuralReview bool `json:"structuralReview,omitempty"`
	// Participations counts the authorities and bodies participated.
	Participations int `json:"participations,omitempty"`
	// Withdrawn is true when the application was withdrawn or is deemed
	// withdrawn before the decision: the schedule's withdrawal share of the
	// procedure fee is charged instead of the full fee and its items.
	Withdrawn bool `json:"withdrawn,omitempty"`
}

// LineItem is one line of a fee.
type LineItem struct {
	Code     string  `json:"code"`
	Tarif    string  `json:"tarif"`
	Title    string  `json:"title"`
	Basis    float64 `json:"basis,omitempty"`
	Rate     string  `json:"rate,omitempty"`
	Quantity int     `json:"quantity,omitempty"`
	Note     string  `json:"note,omitempty"`
	Amount   float64 `json:"amount"`
}

// Fee is a computed fee.
type Fee struct {
	Amount     float64    `json:"amount"`
	Currency   string     `json:"currency"`
	Schedule   string     `json:"schedule"`
	LegalBasis string     `json:"legalBasis"`
	Items      []LineItem `json:"items"`
}

// Compute computes the fee for in. An unknown procedure type or negative
// costs or counts are errors the caller cannot fix by retrying.
func (s *Schedule) Compute(in Input) (Fee, error) {
	p, ok := s.Procedures[in.ProcedureType]
	if !ok {
		return Fee{}, fmt.Errorf("procedure type %q is not in fee schedule %s; use one of: %s", in.ProcedureType, s.ID, strings.Join(s.ProcedureTypes(), ", "))
	}
	if in.BuildingCosts < 0 || in.Exemptions < 0 || in.Participations < 0 {
		return Fee{}, fmt.Errorf("building costs and counts must not be negative")
	}
	// Building costs as stated, to the cent.
	costs := new(big.Rat)
	costs.SetString(fmt.Sprintf("%.2f", in.BuildingCosts))
	fee := Fee{Currency: s.Currency, Schedule: s.ID, LegalBasis: s.LegalBasis}
	total := new(big.Rat)
	add := func(li LineItem, amount *big.Rat) {
		amount = s.round(amount)
		li.Amount = toFloat(amount)
		total.Add(total, amount)
		fee.Items = append(fee.Items, li)
	}

	base := perMille(costs, mustDecimal(p.Rate))
	li := LineItem{Code: in.ProcedureType, Tarif: p.Tarif, Title: p.Title, Basis: toFloat(costs), Rate: p.Rate + " ‰"}
	if lo := mustDecimal(p.Minimum); base.Cmp(lo) < 0 {
		base, li.Note = lo, "Mindestgebühr"
	}
	if hi := mustDecimal(p.Maximum); base.Cmp(hi) > 0 {
		base, li.Note = hi, "Höchstgebühr"
	}
	if in.Withdrawn {
		w := s.Withdrawal
		if w == nil {
			return Fee{}, fmt.Errorf("fee schedule %s has no withdrawal rule; add withdrawal: {tarif, title, share} to charge a withdrawn application", s.ID)
		}
		share := new(big.Rat).Mul(s.round(base), mustDecimal(w.Share))
		wl := LineItem{Code: "withdrawal", Tarif: w.Tarif, Title: w.Title, Basis: toFloat(s.round(base)), Rate: w.Share, Note: "Rücknahme vor der Entscheidung"}
		if w.Minimum != "" {
			if lo := mustDecimal(w.Minimum); share.Cmp(lo) < 0 {
				share = lo
			}
		}
		add(wl, share)
		fee.Amount = toFloat(total)
		return fee, nil
	}
	add(li, base)

	if in.Exemptions > 0 {
		if err := s.addItem("exemption", in.Exemptions, costs, add); err != nil {
			return Fee{}, err
		}
	}
	if in.StructuralReview {
		if err := s.addItem("structural-review", 1, costs, add); err != nil {
			return Fee{}, err
		}
	}
	if in.Participations > 0 {
		if err := s.addItem("participation", in.Participations, costs, add); err != nil {
			return Fee{}, err
		}
	}
	fee.Amount = toFloat(total)
	return fee, nil
}

func (s *Schedule) addItem(code string, qty int, costs *big.Rat, add func(LineItem, *big.Rat)) error {
	it, ok := s.Items[code]
	if !ok {
		return fmt.Errorf("fee schedule %s has no item %q, which the input asks for", s.ID, code)
	}
	li := LineItem{Code: code, Tarif: it.Tarif, Title: it.Title}
	var amount *big.Rat
	if it.PerUnit != "" {
		li.Quantity = qty
		amount = new(big.Rat).Mul(mustDecimal(it.PerUnit), new(big.Rat).SetInt64(int64(qty)))
	} else {
		li.Basis, li.Rate = toFloat(costs), it.Rate+" ‰"
		amount = perMille(costs, mustDecimal(it.Rate))
		if it.Minimum != "" {
			if lo := mustDecimal(it.Minimum); amount.Cmp(lo) < 0 {
				amount, li.Note = lo, "Mindestgebühr"
			}
		}
	}
	add(li, amount)
	return nil
}

func perMille(costs, rate *big.Rat) *big.Rat {
	r := new(big.Rat).Mul(costs, rate)
	return r.Quo(r, big.NewRat(1000, 1))
}

// round rounds half up to cents or euros, as the schedule says.
func (s *Schedule) round(x *big.Rat) *big.Rat { return round(x, s.Rounding) }

// round rounds x >= 0 half up to cents, or to euros when rounding is
// "euro".
func round(x *big.Rat, rounding string) *big.Rat {
	unit := big.NewRat(1, 100)
	if rounding == "euro" {
		unit = big.NewRat(1, 1)
	}
	q := new(big.Rat).Quo(x, unit)
	// floor(q + 1/2) for q >= 0
	q.Add(q, big.NewRat(1, 2))
	n := new(big.Int).Quo(q.Num(), q.Denom())
	return new(big.Rat).Mul(new(big.Rat).SetInt(n), unit)
}

func decimal(s string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || strings.ContainsAny(s, "/eE") {
		return nil, fmt.Errorf("%q is not a decimal number", s)
	}
	if r.Sign() < 0 {
		return nil, fmt.Errorf("%q is negative", s)
	}
	return r, nil
}

func mustDecimal(s string) *big.Rat {
	r, err := decimal(s)
	if err != nil {
		panic(err) // checked by Schedule.check
	}
	return r
}

func toFloat(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}
