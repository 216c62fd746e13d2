// Package builtin is Amtsweg's own plugin, run in-process by the plugin
// host: activities that definitions call like any plugin's
// ("amtsweg.case-number", "amtsweg.deadline"). It lives apart from package
// activities because it reaches PostgreSQL (through package store), which
// the workflow layer must not link.
package builtin

import (
	"context"
	"time"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk"
	"github.com/amtsweg/amtsweg/store"
)

// Name is the name of Amtsweg's own in-process plugin. Its
// activities are called from definitions like any plugin's:
// "amtsweg.case-number".
const Name = "amtsweg"

// CaseNumberInput is the input of amtsweg.case-number.
type CaseNumberInput struct {
	// Prefix is the authority's file plan prefix, e.g. "32.2".
	Prefix string `json:"prefix,omitempty" jsonschema:"description=File plan prefix of the authority (Aktenplan), e.g. 32.2,maxLength=20"`
}

// CaseNumberOutput is the output of amtsweg.case-number.
type CaseNumberOutput struct {
	// CaseNumber is the file number (Aktenzeichen), e.g. "32.2-000042/2026".
	CaseNumber string `json:"caseNumber"`
	// Year and Number are its parts.
	Year   int   `json:"year"`
	Number int64 `json:"number"`
}

// Option configures the built-in plugin.
type Option func(*caseNumbers)

// WithClock makes the plugin read the time from now instead of the wall
// clock; the year of a case number is the year at the authority's seat
// (Europe/Berlin) at the time of the call. Tests use it to fix the year.
func WithClock(now func() time.Time) Option {
	return func(c *caseNumbers) { c.now = now }
}

// New returns Amtsweg's own plugin, run in-process by the plugin host. db
// may be nil where no case numbers are drawn (offline validation).
func New(db CaseNumbers, opts ...Option) (plugins.InProcess, error) {
	cn := &caseNumbers{db: db, now: time.Now}
	for _, o := range opts {
		o(cn)
	}
	return sdk.InProcess(sdk.Plugin{
		Name:    Name,
		Version: "1.0.0",
		Activities: []sdk.Activity{
			sdk.Typed("case-number",
				"Assigns the application's file number (Aktenzeichen): gap-free per authority and year, the same number for every retry of a call.",
				cn.assign),
			sdk.Typed("deadline",
				"Computes the last day of a legal period (§ 31 VwVfG, §§ 187-193 BGB) on a holiday calendar, e.g. to name a wait step's deadline in the letter that sets it.",
				legalDeadline),
		},
	})
}

// LegalDeadlineInput is the input of amtsweg.deadline.
type LegalDeadlineInput struct {
	// From is the day of the triggering event; it is not counted.
	From string `json:"from" jsonschema:"format=date,description=Day of the triggering event (YYYY-MM-DD); it is not counted (§ 187 (1) BGB)"`
	// Period is a legal period with one unit, e.g. P1M.
	Period string `json:"period" jsonschema:"pattern=^P[0-9]+[DWMY]$,description=Legal period with one unit: P<n>D P<n>W P<n>M or P<n>Y"`
	// Calendar is the holiday calendar, e.g. DE-TH.
	Calendar string `json:"calendar" jsonschema:"minLength=2,description=Holiday calendar (e.g. DE-TH)"`
}

// LegalDeadlineOutput is the output of amtsweg.deadline.
type LegalDeadlineOutput struct {
	// From is the day the period runs from (the input's from), so that a
	// later step can name the triggering day, e.g. a clock's from.
	From string `json:"from"`
	// End is the last day of the period (YYYY-MM-DD).
	End string `json:"end"`
	// Rules explain the computation, one rule per line.
	Rules []string `json:"rules"`
}

// legalDeadline computes the same date a wait step with this period
// computes when it starts on the same day, so a letter can name it.
func legalDeadline(ctx context.Context, _ sdk.CallInfo, in LegalDeadlineInput) (LegalDeadlineOutput, error) {
	res, err := activities.ComputeDeadline(ctx, activities.DeadlineRequest{From: in.From, Period: in.Period, Calendar: in.Calendar})
	if err != nil {
		return LegalDeadlineOutput{}, sdk.Finalf("amtsweg.deadline: %v", err)
	}
	return LegalDeadlineOutput{From: in.From, End: res.End, Rules: res.Rules}, nil
}

// CaseNumbers assigns file numbers; *store.Store is the implementation.
type CaseNumbers interface {
	AssignCaseNumber(ctx context.Context, r store.CaseNumberRequest) (store.CaseNumber, error)
}

type caseNumbers struct {
	db  CaseNumbers
	now func() time.Time
}

// assign draws the next number of the tenant's yearly sequence once per
// idempotency key: a retried or replayed call gets the number it got first.
func (c *caseNumbers) assign(ctx context.Context, call sdk.CallInfo, in CaseNumberInput) (CaseNumberOutput, error) {
	if call.IdempotencyKey == "" || call.Tenant == "" {
		return CaseNumberOutput{}, sdk.Finalf("amtsweg.case-number needs the call's tenant and idempotency key")
	}
	if c.db == nil {
		return CaseNumberOutput{}, sdk.Finalf("amtsweg.case-number: this worker has no database")
	}
	prefix := in.Prefix
	if prefix == "" {
		prefix = "AZ"
	}
	cn, err := c.db.AssignCaseNumber(ctx, store.CaseNumberRequest{
		IdempotencyKey: call.IdempotencyKey, Tenant: call.Tenant, Reference: call.Reference,
		Prefix: prefix, Year: c.now().In(berlin).Year(),
	})
	if err != nil {
		return CaseNumberOutput{}, sdk.Retryablef("%v", err)
	}
	return CaseNumberOutput(cn), nil
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()
