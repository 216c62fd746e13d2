package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// BuiltinPlugin is the name of Amtsweg's own in-process plugin. Its
// activities are called from definitions like any plugin's:
// "amtsweg.case-number".
const BuiltinPlugin = "amtsweg"

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

// Builtin returns Amtsweg's own plugin, run in-process by the plugin host.
func Builtin(db *pgxpool.Pool) (plugins.InProcess, error) {
	cn := &caseNumbers{db: db}
	return sdk.InProcess(sdk.Plugin{
		Name:    BuiltinPlugin,
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
	// End is the last day of the period (YYYY-MM-DD).
	End string `json:"end"`
	// Rules explain the computation, one rule per line.
	Rules []string `json:"rules"`
}

// legalDeadline computes the same date a wait step with this period
// computes when it starts on the same day, so a letter can name it.
func legalDeadline(ctx context.Context, _ sdk.CallInfo, in LegalDeadlineInput) (LegalDeadlineOutput, error) {
	res, err := ComputeDeadline(ctx, DeadlineRequest{From: in.From, Period: in.Period, Calendar: in.Calendar})
	if err != nil {
		return LegalDeadlineOutput{}, sdk.Finalf("amtsweg.deadline: %v", err)
	}
	return LegalDeadlineOutput{End: res.End, Rules: res.Rules}, nil
}

type caseNumbers struct{ db *pgxpool.Pool }

// assign draws the next number of the tenant's yearly sequence once per
// idempotency key: a retried or replayed call gets the number it got first.
func (c *caseNumbers) assign(ctx context.Context, call sdk.CallInfo, in CaseNumberInput) (CaseNumberOutput, error) {
	if call.IdempotencyKey == "" || call.Tenant == "" {
		return CaseNumberOutput{}, sdk.Finalf("amtsweg.case-number needs the call's tenant and idempotency key")
	}
	prefix := in.Prefix
	if prefix == "" {
		prefix = "AZ"
	}
	year := time.Now().In(berlin).Year()
	var out CaseNumberOutput
	err := pgx.BeginFunc(ctx, c.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT case_number, year, number FROM case_number_assignments WHERE idempotency_key = $1`,
			call.IdempotencyKey).Scan(&out.CaseNumber, &out.Year, &out.Number)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// The row lock on the counter serialises concurrent assignments of
		// one tenant and year; numbers have no gaps because a rolled-back
		// transaction also rolls back its increment.
		if err := tx.QueryRow(ctx, `
			INSERT INTO case_number_counters (tenant, year, last) VALUES ($1, $2, 1)
			ON CONFLICT (tenant, year) DO UPDATE SET last = case_number_counters.last + 1
			RETURNING last`, call.Tenant, year).Scan(&out.Number); err != nil {
			return err
		}
		out.Year = year
		out.CaseNumber = fmt.Sprintf("%s-%06d/%d", prefix, out.Number, year)
		_, err = tx.Exec(ctx, `
			INSERT INTO case_number_assignments (idempotency_key, tenant, reference, case_number, year, number)
			VALUES ($1, $2, $3, $4, $5, $6)`, call.IdempotencyKey, call.Tenant, call.Reference, out.CaseNumber, year, out.Number)
		return err
	})
	if err != nil {
		return CaseNumberOutput{}, sdk.Retryablef("assign case number for %s: %v", call.Reference, err)
	}
	return out, nil
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()
