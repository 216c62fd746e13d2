package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// TestExtendDeadline: the authority asks for documents within two weeks
// from Mon 2026-11-02 (the harness's start): Mon 2026-11-16 (§ 188 (2)
// BGB). A clerk of the role extends it to Mon 2026-11-30 (§ 31 (7) VwVfG);
// nothing arrives, so it expires then. Each guard is tried first.
func TestExtendDeadline(t *testing.T) {
	p := permit()
	p.Steps[0].Next = "docs" // case number, then straight to the request
	for i := range p.Steps {
		if p.Steps[i].ID == "docs" {
			p.Steps[i].ExtendableBy = "sachbearbeitung"
			p.Steps[i].Deadline = "P2W"
		}
	}
	h := newHarness(t, p)
	ext := func(a contract.Actor, until, reason string) func() any {
		return func() any {
			return contract.ExtendRequest{DeadlineID: "docs#1", Until: until, Reason: reason, Actor: a}
		}
	}
	h.at(time.Hour, "other authority", contract.UpdateExtendDeadline, ext(eve, "2026-11-30", "Gutachten"), contract.ErrTypeTaskNotFound)
	h.at(2*time.Hour, "without the role", contract.UpdateExtendDeadline, ext(fritz, "2026-11-30", "Gutachten"), contract.ErrTypeForbidden)
	h.at(3*time.Hour, "without a reason", contract.UpdateExtendDeadline, ext(anna, "2026-11-30", ""), contract.ErrTypeTaskConflict)
	h.at(4*time.Hour, "not later", contract.UpdateExtendDeadline, ext(anna, "2026-11-16", "Gutachten"), contract.ErrTypeTaskConflict)
	h.at(5*time.Hour, "unknown deadline", contract.UpdateExtendDeadline, func() any {
		return contract.ExtendRequest{DeadlineID: "docs#2", Until: "2026-11-30", Reason: "x", Actor: anna}
	}, contract.ErrTypeTaskNotFound)
	h.at(6*time.Hour, "extend", contract.UpdateExtendDeadline, ext(anna, "2026-11-30", "Gutachten steht aus"), "")
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	h.check(t)
	var res contract.Result
	if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != "withdrawn" {
		t.Fatalf("result %+v, %v", res, err)
	}
	var got []string
	for _, d := range deadlines(h.rec) {
		if !strings.Contains(d, "2027") { // the decision clock is not started here
			got = append(got, d)
		}
	}
	want := []string{"running 2026-11-16", "running 2026-11-30", "expired 2026-11-30"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("deadlines %q, want %q", got, want)
	}
	var extended bool
	for _, e := range h.rec.evs {
		if e.Timeline != nil && strings.Contains(e.Timeline.Text.De, "Frist verlängert bis 30.11.2026 (§ 31 Abs. 7 VwVfG). Grund: Gutachten steht aus") && e.Actor == "anna" {
			extended = true
		}
	}
	if !extended {
		t.Error("no timeline entry for the extension by anna")
	}
	if end := h.env.Now(); end.Before(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("expired at %s, before the end of the extended period", end)
	}
}
