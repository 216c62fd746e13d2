package definitions

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Objection configures the objection stage (Widerspruchsverfahren, §§ 68-73
// VwGO) after a decision: a top-level step of type objection. Validate
// expands it into plain steps (see expandObjection for the ids):
//
//   - the objection period, a wait for the objection event that runs from
//     the Bekanntgabe of the decision's notice: one month (§ 70 (1) VwGO),
//     one year when the notice has no correct Rechtsbehelfsbelehrung
//     (§ 58 (2) VwGO). An objection counts on the day it was lodged
//     (the event's time in Europe/Berlin), even when it reaches the engine
//     up to LateDelivery after the period ended;
//   - lodged in time: the authority's own review, Abhilfe (§ 72 VwGO), a
//     task of Role: it remedies (outcome objection-remedied) or refers the
//     objection to the Widerspruchsbehörde (§ 73 (1) VwGO), whose task
//     (AuthorityRole) ends the stage with the Widerspruchsbescheid:
//     objection-upheld, objection-partly-upheld or objection-rejected;
//   - lodged late: a task of Role decides whether the objection is
//     inadmissible (objection-inadmissible) or reinstatement is granted
//     (Wiedereinsetzung, § 60 VwGO, applied by § 70 (2) VwGO), which leads
//     to the Abhilfe review;
//   - no objection within the period: the decision is final
//     (bestandskräftig, outcome final). The workflow stays open for
//     ReopenWithin (default one year, § 60 (3) VwGO), in which an operator
//     can reopen it with a reason into the decision on a late objection.
//
// Each stage moves the citizen's status to a milestone in German and
// English; the step's own milestone, when given, is the one of the period.
type Objection struct {
	// Notice is the id of the decision's notice (the step that issues it
	// comes before this one).
	Notice string `yaml:"notice" json:"notice"`
	// Event is the id of the event that carries the objection.
	Event string `yaml:"event" json:"event"`
	// Role reviews the objection (Abhilfe) and decides on a late one.
	Role string `yaml:"role" json:"role"`
	// AuthorityRole is the role of the Widerspruchsbehörde.
	AuthorityRole string `yaml:"authorityRole" json:"authorityRole"`
	// LateDelivery is how long after the end of the period objections
	// lodged in time are still taken (Go duration, e.g. 72h).
	LateDelivery string `yaml:"lateDelivery,omitempty" json:"lateDelivery,omitempty"`
	// ReopenWithin is the window for an operator's reopening after the
	// decision became final; default P1Y.
	ReopenWithin string `yaml:"reopenWithin,omitempty" json:"reopenWithin,omitempty"`
}

// The outcomes of an objection stage.
const (
	OutcomeFinal                 = "final"
	OutcomeObjectionRemedied     = "objection-remedied"
	OutcomeObjectionUpheld       = "objection-upheld"
	OutcomeObjectionPartlyUpheld = "objection-partly-upheld"
	OutcomeObjectionRejected     = "objection-rejected"
	OutcomeObjectionInadmissible = "objection-inadmissible"
)

// expandTemplates replaces the template steps (objection, hearing) of the
// top-level flow by the steps they stand for. The template step's place
// keeps its id (its first generated step), so references to it and the
// positions of its fields stay valid; the other generated steps, forms and
// milestones are appended. A template with errors is left as it is and
// its errors returned; expanding an expanded definition changes nothing.
func expandTemplates(p *Procedure, s *source) ErrorList {
	var errs ErrorList
	n := len(p.Steps)
	for i := 0; i < n; i++ {
		var e ErrorList
		switch p.Steps[i].Type {
		case StepObjection:
			e = expandObjection(p, i, s)
		case StepHearing:
			e = expandHearing(p, i, s)
		}
		errs = append(errs, e...)
	}
	var nested func(ptr string, steps []Step)
	nested = func(ptr string, steps []Step) {
		for i := range steps {
			sp := ptrIndex(ptrJoin(ptr, "steps"), i)
			if steps[i].Type == StepObjection || steps[i].Type == StepHearing {
				errs = append(errs, s.errAt(ptrJoin(sp, "type"), fmt.Sprintf("a %s step must be a step of the procedure itself, not of a branch", steps[i].Type),
					"move it to the top-level steps"))
			}
			for j := range steps[i].Branches {
				nested(ptrIndex(ptrJoin(sp, "branches"), j), steps[i].Branches[j].Steps)
			}
			if steps[i].Body != nil {
				nested(ptrJoin(sp, "body"), steps[i].Body.Steps)
			}
		}
	}
	for i := range p.Steps {
		sp := ptrIndex("steps", i)
		for j := range p.Steps[i].Branches {
			nested(ptrIndex(ptrJoin(sp, "branches"), j), p.Steps[i].Branches[j].Steps)
		}
		if p.Steps[i].Body != nil {
			nested(ptrJoin(sp, "body"), p.Steps[i].Body.Steps)
		}
	}
	return errs
}

// template collects what one template adds and checks it against the
// definition before anything is changed.
type template struct {
	p    *Procedure
	s    *source
	i    int    // index of the template step in p.Steps
	sp   string // its pointer
	errs ErrorList
	// ids already taken in the definition.
	stepIDs, formIDs, milestoneIDs map[string]bool
	steps                          []Step
	forms                          []Form
	milestones                     []Milestone
}

func newTemplate(p *Procedure, i int, s *source) *template {
	t := &template{p: p, s: s, i: i, sp: ptrIndex("steps", i),
		stepIDs: map[string]bool{}, formIDs: map[string]bool{}, milestoneIDs: map[string]bool{}}
	for j, st := range p.Steps {
		if j != i {
			t.stepIDs[st.ID] = true
		}
	}
	for _, f := range p.Forms {
		t.formIDs[f.ID] = true
	}
	for _, m := range p.Milestones {
		t.milestoneIDs[m.ID] = true
	}
	return t
}

// errAt reports a problem at field, a path below the step such as
// "objection/role".
func (t *template) errAt(field, msg, fix string) {
	t.errs = append(t.errs, t.s.errAt(ptrJoin(t.sp, strings.Split(field, "/")...), msg, fix))
}

// id returns a generated id and reports it when it is taken or too long.
func (t *template) id(kind string, taken map[string]bool, id string) string {
	switch {
	case len(id) > 63:
		t.errAt("id", fmt.Sprintf("the id is too long: the %s %q it generates has more than 63 characters", kind, id), "use a shorter step id")
	case taken[id]:
		t.errAt("id", fmt.Sprintf("the %s %q this step generates exists already", kind, id), "rename that "+kind+" or this step")
	}
	taken[id] = true
	return id
}

func (t *template) step(st Step) string {
	if st.ID != t.p.Steps[t.i].ID {
		t.id("step", t.stepIDs, st.ID)
	}
	t.steps = append(t.steps, st)
	return st.ID
}

func (t *template) form(id, schema string) string {
	t.id("form", t.formIDs, id)
	t.forms = append(t.forms, Form{ID: id, Schema: json.RawMessage(schema)})
	return id
}

func (t *template) milestone(id string, title, desc Text) string {
	if t.milestoneIDs[id] {
		// A designer may declare the generated milestone to word it.
		return id
	}
	t.milestoneIDs[id] = true
	t.milestones = append(t.milestones, Milestone{ID: id, Title: title, Description: desc})
	return id
}

func (t *template) refRole(field, id string) {
	for _, r := range t.p.Roles {
		if r.ID == id {
			return
		}
	}
	t.errAt(field, fmt.Sprintf("role %q is not declared", id), fmt.Sprintf("declare it under roles: - id: %s", id))
}

func (t *template) refEvent(field, id string) {
	for _, e := range t.p.Events {
		if e.ID == id {
			return
		}
	}
	t.errAt(field, fmt.Sprintf("event %q is not declared", id), fmt.Sprintf("declare it under events: - id: %s", id))
}

// apply writes the generated steps (the first in the template's place),
// forms and milestones into the definition, unless there were errors.
func (t *template) apply() ErrorList {
	if len(t.errs) > 0 {
		return t.errs
	}
	t.p.Steps[t.i] = t.steps[0]
	t.p.Steps = append(t.p.Steps, t.steps[1:]...)
	t.p.Forms = append(t.p.Forms, t.forms...)
	t.p.Milestones = append(t.p.Milestones, t.milestones...)
	return nil
}

// variable turns a step id into a variable name (CEL: no hyphens).
func variable(id string) string { return strings.ReplaceAll(id, "-", "_") }

// expandObjection expands the objection step at p.Steps[i]. With id X it
// generates: X (the period), X-abhilfe, X-abhilfe-ergebnis,
// X-abgeholfen, X-vorlage, X-bescheid-ergebnis, X-stattgegeben,
// X-teilweise, X-zurueckgewiesen, X-verspaetet, X-verspaetet-ergebnis,
// X-unzulaessig, X-bestandskraeftig; the forms X-abhilfe, X-bescheid,
// X-verspaetet; the milestones X-frist (unless the step names one),
// X-pruefung, X-behoerde, X-entschieden, X-abgeholfen, X-verspaetet,
// X-bestandskraeftig; and the variables X (the objection's data),
// X_abhilfe, X_bescheid, X_verspaetet (hyphens as underscores).
func expandObjection(p *Procedure, i int, s *source) ErrorList {
	st := p.Steps[i]
	t := newTemplate(p, i, s)
	o := st.Objection
	if o == nil {
		t.errAt("type", "an objection step needs its objection: block", "add objection: {notice: <decision's notice id>, event: <objection event>, role: <reviewing role>, authorityRole: <Widerspruchsbehörde's role>}")
		return t.errs
	}
	if st.Next != "" {
		t.errAt("next", "an objection step ends the procedure with its own outcomes", "remove next; the outcomes are final, objection-remedied, objection-upheld, objection-partly-upheld, objection-rejected and objection-inadmissible")
	}
	if o.Notice == "" || len(p.Notices()[o.Notice]) == 0 {
		t.errAt("objection/notice", fmt.Sprintf("notice %q is not issued by any step", o.Notice),
			"name the decision's notice, declared on the step that sends it: notice: {id: bescheid, act: decision, channel: post}")
	}
	portal := false
	for _, n := range p.Notices()[o.Notice] {
		portal = portal || n.Channel == "portal"
	}
	if portal {
		t.errAt("objection/notice", fmt.Sprintf("notice %q is provided in the portal, which can end unretrieved; the objection stage does not model that", o.Notice),
			"send the decision by post, zustellung or hand")
	}
	t.refEvent("objection/event", o.Event)
	t.refRole("objection/role", o.Role)
	t.refRole("objection/authorityRole", o.AuthorityRole)
	within := o.ReopenWithin
	if within == "" {
		within = "P1Y"
	}
	id, v := st.ID, variable(st.ID)
	mFrist := st.Milestone
	if mFrist == "" {
		mFrist = t.milestone(id+"-frist", Text{De: "Widerspruchsfrist läuft", En: "Objection period running"},
			Text{De: "Gegen den Bescheid kann innerhalb der angegebenen Frist Widerspruch erhoben werden (§ 70 VwGO).",
				En: "An objection to the decision may be lodged within the period shown (§ 70 VwGO)."})
	}
	mPruefung := t.milestone(id+"-pruefung", Text{De: "Widerspruch wird geprüft", En: "Objection under review"},
		Text{De: "Die Behörde prüft, ob sie dem Widerspruch abhilft (§ 72 VwGO).", En: "The authority reviews whether to grant the objection (§ 72 VwGO)."})
	mBehoerde := t.milestone(id+"-behoerde", Text{De: "Widerspruch bei der Widerspruchsbehörde", En: "Objection referred to the appeal authority"},
		Text{De: "Die Behörde hat nicht abgeholfen; die Widerspruchsbehörde entscheidet (§ 73 VwGO).", En: "The authority did not grant the objection; the appeal authority decides (§ 73 VwGO)."})
	mEntschieden := t.milestone(id+"-entschieden", Text{De: "Widerspruchsbescheid erlassen", En: "Decision on the objection issued"}, Text{})
	mAbgeholfen := t.milestone(id+"-abgeholfen", Text{De: "Dem Widerspruch wurde abgeholfen", En: "Objection granted by the authority"},
		Text{De: "Die Behörde hat dem Widerspruch abgeholfen (Abhilfebescheid, § 72 VwGO).", En: "The authority granted the objection (§ 72 VwGO)."})
	mVerspaetet := t.milestone(id+"-verspaetet", Text{De: "Verspäteter Widerspruch wird geprüft", En: "Late objection under review"},
		Text{De: "Der Widerspruch ging nach Ablauf der Frist ein; die Behörde prüft, ob Wiedereinsetzung in den vorigen Stand gewährt wird (§ 60 VwGO).",
			En: "The objection was lodged after the period ended; the authority examines whether to reinstate the period (§ 60 VwGO)."})
	mFinal := t.milestone(id+"-bestandskraeftig", Text{De: "Bescheid bestandskräftig", En: "Decision final"},
		Text{De: "Der Bescheid ist unanfechtbar geworden.", En: "The decision can no longer be challenged."})

	reasonProp := `"begruendung":{"type":"string","minLength":1,"title":"Begründung"}`
	fAbhilfe := t.form(id+"-abhilfe", `{"type":"object","required":["entscheidung","begruendung"],"additionalProperties":false,"properties":{`+
		`"entscheidung":{"type":"string","enum":["abhilfe","vorlage"],"title":"Abhilfe (§ 72 VwGO) oder Vorlage an die Widerspruchsbehörde (§ 73 VwGO)"},`+reasonProp+`}}`)
	fBescheid := t.form(id+"-bescheid", `{"type":"object","required":["ergebnis","begruendung"],"additionalProperties":false,"properties":{`+
		`"ergebnis":{"type":"string","enum":["stattgegeben","teilweise-stattgegeben","zurueckgewiesen"],"title":"Widerspruchsbescheid (§ 73 VwGO)"},`+reasonProp+`}}`)
	fVerspaetet := t.form(id+"-verspaetet", `{"type":"object","required":["entscheidung","begruendung"],"additionalProperties":false,"properties":{`+
		`"entscheidung":{"type":"string","enum":["unzulaessig","wiedereinsetzung"],"title":"Unzulässig (§ 70 VwGO) oder Wiedereinsetzung (§ 60 VwGO)"},`+reasonProp+`}}`)

	sAbhilfe, sVorlage, sVerspaetet := id+"-abhilfe", id+"-vorlage", id+"-verspaetet"
	sFinal, sAbgeholfen := id+"-bestandskraeftig", id+"-abgeholfen"
	title := st.Title
	if title.De == "" {
		title = Text{De: "Widerspruchsfrist", En: "Objection period"}
	}
	t.step(Step{ID: id, Type: StepWait, Milestone: mFrist, Title: title, Timeline: st.Timeline,
		Event: o.Event, Deadline: "P1M", DeadlineFrom: o.Notice, RemedyPeriod: true, LateDelivery: o.LateDelivery,
		OnLate: sVerspaetet, OnExpiry: sFinal, Output: v, Next: sAbhilfe})
	t.step(Step{ID: sAbhilfe, Type: StepTask, Milestone: mPruefung, Title: Text{De: "Widerspruch prüfen: Abhilfe (§ 72 VwGO)", En: "Review the objection: remedy (§ 72 VwGO)"},
		Role: o.Role, Form: fAbhilfe, Output: v + "_abhilfe", Next: id + "-abhilfe-ergebnis"})
	t.step(Step{ID: id + "-abhilfe-ergebnis", Type: StepDecision,
		Conditions: []Condition{{When: v + `_abhilfe.entscheidung == "abhilfe"`, Next: sAbgeholfen}}, Default: sVorlage})
	t.step(Step{ID: sAbgeholfen, Type: StepEnd, Milestone: mAbgeholfen, Outcome: OutcomeObjectionRemedied,
		Title: Text{De: "Widerspruch abgeholfen (§ 72 VwGO)", En: "Objection granted by the authority (§ 72 VwGO)"}})
	t.step(Step{ID: sVorlage, Type: StepTask, Milestone: mBehoerde, Title: Text{De: "Widerspruchsbescheid (§ 73 VwGO)", En: "Decision on the objection (§ 73 VwGO)"},
		Role: o.AuthorityRole, Form: fBescheid, Output: v + "_bescheid", Next: id + "-bescheid-ergebnis"})
	t.step(Step{ID: id + "-bescheid-ergebnis", Type: StepDecision, Conditions: []Condition{
		{When: v + `_bescheid.ergebnis == "stattgegeben"`, Next: id + "-stattgegeben"},
		{When: v + `_bescheid.ergebnis == "teilweise-stattgegeben"`, Next: id + "-teilweise"},
	}, Default: id + "-zurueckgewiesen"})
	t.step(Step{ID: id + "-stattgegeben", Type: StepEnd, Milestone: mEntschieden, Outcome: OutcomeObjectionUpheld,
		Title: Text{De: "Dem Widerspruch wurde stattgegeben", En: "Objection upheld"}})
	t.step(Step{ID: id + "-teilweise", Type: StepEnd, Milestone: mEntschieden, Outcome: OutcomeObjectionPartlyUpheld,
		Title: Text{De: "Dem Widerspruch wurde teilweise stattgegeben", En: "Objection partly upheld"}})
	t.step(Step{ID: id + "-zurueckgewiesen", Type: StepEnd, Milestone: mEntschieden, Outcome: OutcomeObjectionRejected,
		Title: Text{De: "Der Widerspruch wurde zurückgewiesen", En: "Objection rejected"}})
	t.step(Step{ID: sVerspaetet, Type: StepTask, Milestone: mVerspaetet,
		Title: Text{De: "Verspäteter Widerspruch: unzulässig oder Wiedereinsetzung (§ 60 VwGO)", En: "Late objection: inadmissible or reinstatement (§ 60 VwGO)"},
		Role:  o.Role, Form: fVerspaetet, Output: v + "_verspaetet", Next: id + "-verspaetet-ergebnis"})
	t.step(Step{ID: id + "-verspaetet-ergebnis", Type: StepDecision,
		Conditions: []Condition{{When: v + `_verspaetet.entscheidung == "wiedereinsetzung"`, Next: sAbhilfe}}, Default: id + "-unzulaessig"})
	t.step(Step{ID: id + "-unzulaessig", Type: StepEnd, Milestone: mFinal, Outcome: OutcomeObjectionInadmissible,
		Title: Text{De: "Widerspruch unzulässig, weil verspätet (§ 70 VwGO)", En: "Objection inadmissible: lodged late (§ 70 VwGO)"}})
	t.step(Step{ID: sFinal, Type: StepEnd, Milestone: mFinal, Outcome: OutcomeFinal,
		Title:  Text{De: "Bescheid bestandskräftig", En: "Decision final"},
		Reopen: &Reopen{Into: sVerspaetet, Within: within}})
	return t.apply()
}
