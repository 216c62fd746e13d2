package fees

import (
	"context"
	_ "embed"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

//go:embed schedule/bewohnerparken.yaml
var defaultParkingSchedule []byte

// EnvParkingSchedule names the environment variable with the path of a
// resident-parking fee schedule that replaces the embedded one.
const EnvParkingSchedule = "AMTSWEG_FEES_PARKING_SCHEDULE"

// ParkingSchedule holds the fees for resident parking permits
// (Bewohnerparkausweise) of each municipality: § 6a (5a) StVG leaves them
// to the Länder, which may pass the power on to the municipalities.
type ParkingSchedule struct {
	ID             string         `yaml:"id" json:"id"`
	Title          string         `yaml:"title" json:"title"`
	LegalBasis     string         `yaml:"legalBasis" json:"legalBasis"`
	Currency       string         `yaml:"currency" json:"currency"`
	Rounding       string         `yaml:"rounding" json:"rounding"`
	Municipalities []Municipality `yaml:"municipalities" json:"municipalities"`
}

// Municipality is one municipality's setting.
type Municipality struct {
	// Name as in addresses, e.g. "Erfurt"; AGS the Amtlicher
	// Gemeindeschlüssel (8 digits). A call names either.
	Name string `yaml:"name" json:"name"`
	AGS  string `yaml:"ags" json:"ags"`
	// Land is the ISO 3166-2 code of the Land, e.g. "DE-TH".
	Land string `yaml:"land" json:"land"`
	// LegalBasis is the ordinance that sets the amount.
	LegalBasis string `yaml:"legalBasis" json:"legalBasis"`
	// PerYear is the fee for twelve months (decimal EUR).
	PerYear string `yaml:"perYear" json:"perYear"`
	// Months are the validity periods on offer.
	Months []int `yaml:"months" json:"months"`
}

// LoadParkingSchedule reads the schedule from
// $AMTSWEG_FEES_PARKING_SCHEDULE, or the embedded one when unset.
func LoadParkingSchedule() (*ParkingSchedule, error) {
	if path := os.Getenv(EnvParkingSchedule); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read resident-parking fee schedule (%s): %w", EnvParkingSchedule, err)
		}
		s, err := ParseParkingSchedule(b)
		if err != nil {
			return nil, fmt.Errorf("resident-parking fee schedule %s: %w", path, err)
		}
		return s, nil
	}
	s, err := ParseParkingSchedule(defaultParkingSchedule)
	if err != nil {
		return nil, fmt.Errorf("embedded resident-parking fee schedule: %w", err)
	}
	return s, nil
}

// ParseParkingSchedule parses and checks a resident-parking fee schedule.
func ParseParkingSchedule(b []byte) (*ParkingSchedule, error) {
	var s ParkingSchedule
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if s.ID == "" {
		return nil, fmt.Errorf("id is empty; give the schedule a version id such as \"bewohnerparken-erfurt-2027-01\"")
	}
	if s.Currency != "EUR" {
		return nil, fmt.Errorf("currency %q: only EUR is supported", s.Currency)
	}
	if s.Rounding != "cent" && s.Rounding != "euro" {
		return nil, fmt.Errorf("rounding %q: use \"cent\" or \"euro\"", s.Rounding)
	}
	if len(s.Municipalities) == 0 {
		return nil, fmt.Errorf("no municipalities: add at least one")
	}
	for i, m := range s.Municipalities {
		at := fmt.Sprintf("municipalities[%d] (%s)", i, m.Name)
		if m.Name == "" || len(m.AGS) != 8 || strings.Trim(m.AGS, "0123456789") != "" {
			return nil, fmt.Errorf("%s: name and an eight-digit ags (Amtlicher Gemeindeschlüssel) are required", at)
		}
		if !strings.HasPrefix(m.Land, "DE-") || m.LegalBasis == "" {
			return nil, fmt.Errorf("%s: land (e.g. DE-TH) and legalBasis (the fee ordinance) are required", at)
		}
		if _, err := decimal(m.PerYear); err != nil {
			return nil, fmt.Errorf("%s.perYear: %w", at, err)
		}
		if len(m.Months) == 0 {
			return nil, fmt.Errorf("%s: months lists no validity period; add e.g. [12]", at)
		}
		for _, n := range m.Months {
			if n < 1 || n > 60 {
				return nil, fmt.Errorf("%s: a validity period of %d months is not plausible (1 to 60)", at, n)
			}
		}
	}
	return &s, nil
}

// ParkingInput is what a resident parking fee is computed from.
type ParkingInput struct {
	// Municipality is the municipality's name or AGS.
	Municipality string `json:"municipality" jsonschema:"minLength=1,description=Municipality (name or Amtlicher Gemeindeschlüssel) whose schedule applies"`
	// Months is the validity period applied for.
	Months int `json:"months" jsonschema:"minimum=1,description=Validity period in months"`
	// From is the first day of validity (YYYY-MM-DD).
	From string `json:"from" jsonschema:"format=date,description=First day of validity (YYYY-MM-DD)"`
}

// ParkingFee is the fee of a resident parking permit and its validity.
type ParkingFee struct {
	Amount float64 `json:"amount"`
	// AmountText is Amount with two decimals ("120.00"), for letters.
	AmountText   string     `json:"amountText"`
	Currency     string     `json:"currency"`
	Schedule     string     `json:"schedule"`
	LegalBasis   string     `json:"legalBasis"`
	Municipality string     `json:"municipality"`
	Land         string     `json:"land"`
	Months       int        `json:"months"`
	ValidFrom    string     `json:"validFrom"`
	ValidUntil   string     `json:"validUntil"`
	Items        []LineItem `json:"items"`
}

// Compute computes the fee for in. An unknown municipality or a period
// it does not offer is an error retrying cannot fix.
func (s *ParkingSchedule) Compute(in ParkingInput) (ParkingFee, error) {
	i := slices.IndexFunc(s.Municipalities, func(m Municipality) bool {
		return strings.EqualFold(m.Name, strings.TrimSpace(in.Municipality)) || m.AGS == strings.TrimSpace(in.Municipality)
	})
	if i < 0 {
		names := make([]string, len(s.Municipalities))
		for j, m := range s.Municipalities {
			names[j] = m.Name
		}
		return ParkingFee{}, fmt.Errorf("municipality %q is not in resident-parking fee schedule %s (it has %s); add its setting to the schedule",
			in.Municipality, s.ID, strings.Join(names, ", "))
	}
	m := s.Municipalities[i]
	if !slices.Contains(m.Months, in.Months) {
		offered := make([]string, len(m.Months))
		for j, n := range m.Months {
			offered[j] = strconv.Itoa(n)
		}
		return ParkingFee{}, fmt.Errorf("%s offers resident parking permits for %s months, not %d", m.Name, strings.Join(offered, ", "), in.Months)
	}
	from, err := time.Parse(time.DateOnly, in.From)
	if err != nil {
		return ParkingFee{}, fmt.Errorf("from %q is not a date; write YYYY-MM-DD", in.From)
	}
	amount := new(big.Rat).Mul(mustDecimal(m.PerYear), big.NewRat(int64(in.Months), 12))
	amount = round(amount, s.Rounding)
	return ParkingFee{
		Amount: toFloat(amount), AmountText: amount.FloatString(2), Currency: s.Currency, Schedule: s.ID,
		LegalBasis: m.LegalBasis, Municipality: m.Name, Land: m.Land, Months: in.Months,
		ValidFrom: in.From, ValidUntil: ValidUntil(from, in.Months).Format(time.DateOnly),
		Items: []LineItem{{Code: "bewohnerparkausweis", Title: fmt.Sprintf("Bewohnerparkausweis, %d Monate", in.Months),
			Rate: m.PerYear + " EUR/Jahr", Quantity: in.Months, Amount: toFloat(amount)}},
	}, nil
}

// ValidUntil is the last day of a validity of months months that begins
// on the day from (counted, § 187 (2) BGB): the day before the day of the
// same number months later (§ 188 (2) BGB), or the last day of that month
// when it has no such day (§ 188 (3) BGB). Unlike a deadline, it does not
// move off a weekend or holiday.
func ValidUntil(from time.Time, months int) time.Time {
	y, mo, d := from.Date()
	if d == 1 {
		// The day before the 1st: the last day of the month before.
		return time.Date(y, mo+time.Month(months), 0, 0, 0, 0, 0, time.UTC)
	}
	last := time.Date(y, mo+time.Month(months)+1, 0, 0, 0, 0, 0, time.UTC)
	if d-1 > last.Day() {
		return last
	}
	return time.Date(y, mo+time.Month(months), d-1, 0, 0, 0, 0, time.UTC)
}

// Activity returns fees.resident-parking, computing with s.
func (s *ParkingSchedule) Activity() sdk.Activity {
	return sdk.Typed("resident-parking", "Computes the fee and validity of a resident parking permit (§ 6a (5a) StVG) from the municipality's schedule",
		func(_ context.Context, _ sdk.CallInfo, in ParkingInput) (ParkingFee, error) {
			fee, err := s.Compute(in)
			if err != nil {
				return ParkingFee{}, sdk.Final(err)
			}
			return fee, nil
		})
}
