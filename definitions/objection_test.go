package definitions

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const templateHeader = `apiVersion: amtsweg.de/v1
kind: Procedure
key: t
version: 1.0.0
title: {de: T}
validFrom: 2025-01-01
calendar: DE-TH
applicationSchema: {type: object}
roles: [{id: sb, title: {de: Sachbearbeitung}}, {id: wb, title: {de: Widerspruchsbehörde}}]
events:
  - {id: widerspruch, type: de.amtsweg.applicant.objection-submitted.v1}
  - id: antwort
    type: de.amtsweg.applicant.hearing-reply.v1
    schema: {type: object, properties: {art: {type: string, enum: [stellungnahme, ruecknahme]}}}
milestones: [{id: m, title: {de: M}}]
start: anhoerung
steps:
  - id: anhoerung
    type: hearing
    hearing: {role: sb, channel: post, event: antwort, period: P2W, onWithdrawn: zurueckgenommen}
    next: bescheid
  - id: bescheid
    type: task
    role: sb
    notice: {id: bescheid, act: decision, channel: post}
    next: widerspruch
  - id: widerspruch
    type: objection
    objection: {notice: bescheid, event: widerspruch, role: sb, authorityRole: wb, lateDelivery: 72h}
  - {id: zurueckgenommen, type: end, outcome: withdrawn}
`

// TestTemplatesExpand: the objection and hearing steps become plain steps,
// forms and milestones; the template's place keeps its id.
func TestTemplatesExpand(t *testing.T) {
	t.Parallel()
	p, err := Load("t.yaml", []byte(templateHeader), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	types := map[string]StepType{}
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
		types[s.ID] = s.Type
	}
	for id, typ := range map[string]StepType{
		"anhoerung": StepTask, "anhoerung-frist": StepWait, "anhoerung-antwort": StepDecision,
		"widerspruch": StepWait, "widerspruch-abhilfe": StepTask, "widerspruch-vorlage": StepTask,
		"widerspruch-verspaetet": StepTask, "widerspruch-bestandskraeftig": StepEnd, "widerspruch-unzulaessig": StepEnd,
		"widerspruch-abgeholfen": StepEnd, "widerspruch-stattgegeben": StepEnd, "widerspruch-teilweise": StepEnd, "widerspruch-zurueckgewiesen": StepEnd,
	} {
		if types[id] != typ {
			t.Errorf("step %s is %q, want %q (steps %v)", id, types[id], typ, ids)
		}
	}
	if ids[0] != "anhoerung" || ids[2] != "widerspruch" {
		t.Errorf("the templates' places changed: %v", ids)
	}
	w := p.Steps[2]
	if w.DeadlineFrom != "bescheid" || w.Deadline != "P1M" || !w.RemedyPeriod || w.OnLate != "widerspruch-verspaetet" || w.OnExpiry != "widerspruch-bestandskraeftig" {
		t.Errorf("objection period: %+v", w)
	}
	for _, s := range p.Steps {
		if s.ID == "widerspruch-bestandskraeftig" && (s.Reopen == nil || s.Reopen.Into != "widerspruch-verspaetet" || s.Reopen.Within != "P1Y") {
			t.Errorf("the final end step is not reopenable into the late-objection decision: %+v", s.Reopen)
		}
	}
	var forms []string
	for _, f := range p.Forms {
		forms = append(forms, f.ID)
	}
	if !slices.Equal(forms, []string{"widerspruch-abhilfe", "widerspruch-bescheid", "widerspruch-verspaetet"}) {
		t.Errorf("forms %v", forms)
	}
	for _, m := range p.Milestones[1:] { // the first is the test's own
		if m.Title.De == "" || m.Title.En == "" {
			t.Errorf("milestone %s lacks a German or English title", m.ID)
		}
	}
	// The expanded definition is what is stored: validating it again
	// changes nothing.
	before := Hash(p)
	if errs := Validate(p, testOpts); len(errs) > 0 {
		t.Fatal(errs)
	}
	if Hash(p) != before {
		t.Error("validating the expanded definition again changed it")
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		old, new   string
		want       string
		wantAtLine int
	}{
		{"unknown role", "role: sb, authorityRole: wb", "role: sb, authorityRole: xx", `role "xx" is not declared`, 29},
		{"unknown notice", "objection: {notice: bescheid", "objection: {notice: bsch", `notice "bsch" is not issued by any step`, 29},
		{"hearing by portal", "channel: post, event: antwort", "channel: portal, event: antwort", `channel`, 0},
		{"objection with next", "lateDelivery: 72h}\n", "lateDelivery: 72h}\n    next: zurueckgenommen\n", "next", 0},
		{"generated id taken", "- {id: zurueckgenommen, type: end, outcome: withdrawn}", "- {id: zurueckgenommen, type: end, outcome: withdrawn}\n  - {id: widerspruch-abhilfe, type: end, outcome: x}",
			`the step "widerspruch-abhilfe" this step generates exists already`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(templateHeader, tt.old, tt.new, 1)
			if src == templateHeader {
				t.Fatal("the edit did not apply")
			}
			errs := loadErrs(t, src, testOpts)
			i := slices.IndexFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) })
			if i < 0 {
				t.Fatalf("errors %q, want one with %q", errs, tt.want)
			}
			if at := fmt.Sprintf("v.yaml:%d:", tt.wantAtLine); tt.wantAtLine > 0 && !strings.HasPrefix(errs[i], at) {
				t.Errorf("error %q is not at %s", errs[i], at)
			}
		})
	}
}

func TestTemplateInBranchRefused(t *testing.T) {
	t.Parallel()
	src := strings.Replace(templateHeader, `start: anhoerung
steps:`, `start: p
steps:
  - id: p
    type: parallel
    next: anhoerung
    branches:
      - id: b
        start: w
        steps:
          - id: w
            type: objection
            objection: {notice: bescheid, event: widerspruch, role: sb, authorityRole: wb}`, 1)
	errs := strings.Join(loadErrs(t, src, testOpts), "\n")
	if !strings.Contains(errs, "must be a step of the procedure itself") {
		t.Errorf("errors %q", errs)
	}
}
