package definitions

import (
	"fmt"
	"slices"
)

// Hearing configures the hearing before an adverse decision (Anhörung,
// § 28 (1) VwVfG: before an administrative act that interferes with a
// participant's rights is issued, the participant must be given the
// opportunity to comment on the facts relevant to the decision). A
// top-level step of type hearing; Validate expands it into:
//
//   - X, a task of Role to send the hearing letter; completing it issues
//     the letter as a notice (act hearing) on Channel, so that its day of
//     Bekanntgabe is recorded and the statement period runs from it;
//   - X-frist, the wait for the applicant's reply (Event) within Period
//     from the letter's Bekanntgabe; the reply is recorded in the timeline
//     and kept in the variable X (hyphens as underscores). A reply whose
//     data has art: "ruecknahme" withdraws the application and leads to
//     OnWithdrawn, also when it comes after the period; any other reply
//     and none at all lead to the step's next, the decision;
//   - X-antwort, the decision between the two; and the milestone
//     X-anhoerung (unless the step names one).
type Hearing struct {
	// Role sends the hearing letter.
	Role string `yaml:"role" json:"role"`
	// Channel is how the letter is sent: post, zustellung or hand.
	Channel string `yaml:"channel" json:"channel"`
	// Proof is the event carrying the proof of service (zustellung).
	Proof string `yaml:"proof,omitempty" json:"proof,omitempty"`
	// Event is the applicant's reply; {"art": "ruecknahme"} withdraws.
	Event string `yaml:"event" json:"event"`
	// Period is the statement period, e.g. P2W, from the Bekanntgabe of
	// the letter. § 28 VwVfG names no length; the authority sets it.
	Period string `yaml:"period" json:"period"`
	// LateDelivery: replies made in time are still taken this long after
	// the period ended (Go duration, e.g. 72h).
	LateDelivery string `yaml:"lateDelivery,omitempty" json:"lateDelivery,omitempty"`
	// OnWithdrawn is the step taken when the applicant withdraws.
	OnWithdrawn string `yaml:"onWithdrawn" json:"onWithdrawn"`
}

// hearingChannels are the channels a hearing letter may take; a portal
// provision can end unretrieved, which the template does not model.
var hearingChannels = []string{"post", "zustellung", "hand"}

// expandHearing expands the hearing step at p.Steps[i] (see Hearing).
func expandHearing(p *Procedure, i int, s *source) ErrorList {
	st := p.Steps[i]
	t := newTemplate(p, i, s)
	h := st.Hearing
	if h == nil {
		t.errAt("type", "a hearing step needs its hearing: block", "add hearing: {role: <role>, channel: post, event: <reply event>, period: P2W, onWithdrawn: <step>}")
		return t.errs
	}
	if st.Next == "" {
		t.errAt("next", "a hearing step needs next: the decision that follows the hearing", "add next: <step>")
	}
	t.refRole("hearing/role", h.Role)
	t.refEvent("hearing/event", h.Event)
	if !slices.Contains(hearingChannels, h.Channel) {
		t.errAt("hearing/channel", fmt.Sprintf("channel %q cannot carry a hearing letter here", h.Channel), "use post, zustellung or hand")
	}
	if h.Proof != "" {
		t.refEvent("hearing/proof", h.Proof)
	} else if h.Channel == "zustellung" {
		t.errAt("hearing/proof", "a hearing letter served formally needs the event with the proof of service", "name it, e.g. proof: anhoerung-zugestellt")
	}
	if h.OnWithdrawn == "" {
		t.errAt("hearing/onWithdrawn", "say where the procedure goes when the applicant withdraws", "add onWithdrawn: <step>, e.g. an end step with outcome withdrawn")
	}
	id, v := st.ID, variable(st.ID)
	m := st.Milestone
	if m == "" {
		m = t.milestone(id+"-anhoerung", Text{De: "Anhörung vor der Entscheidung", En: "Hearing before the decision"},
			Text{De: "Die Behörde beabsichtigt eine für Sie nachteilige Entscheidung. Sie können sich bis zum angegebenen Tag dazu äußern oder den Antrag zurücknehmen (§ 28 VwVfG).",
				En: "The authority intends a decision against you. You may comment until the day shown or withdraw the application (§ 28 VwVfG)."})
	}
	title := st.Title
	if title.De == "" {
		title = Text{De: "Anhörungsschreiben versenden (§ 28 VwVfG)", En: "Send the hearing letter (§ 28 VwVfG)"}
	}
	t.step(Step{ID: id, Type: StepTask, Milestone: m, Title: title, Timeline: st.Timeline, Role: h.Role, Next: id + "-frist",
		Notice: &Notice{ID: id, Act: "hearing", Channel: h.Channel, Proof: h.Proof,
			Title: Text{De: "Anhörungsschreiben", En: "Hearing letter"}}})
	t.step(Step{ID: id + "-frist", Type: StepWait, Title: Text{De: "Frist zur Stellungnahme", En: "Period for comments"},
		Event: h.Event, Deadline: h.Period, DeadlineFrom: id, LateDelivery: h.LateDelivery,
		Request: Text{De: "Sie können sich zu der beabsichtigten Entscheidung äußern oder den Antrag zurücknehmen (§ 28 VwVfG).",
			En: "You may comment on the intended decision or withdraw the application (§ 28 VwVfG)."},
		OnExpiry: st.Next, OnLate: id + "-antwort", Output: v, Next: id + "-antwort"})
	t.step(Step{ID: id + "-antwort", Type: StepDecision,
		Conditions: []Condition{{When: fmt.Sprintf(`has(%s.art) && %s.art == "ruecknahme"`, v, v), Next: h.OnWithdrawn}}, Default: st.Next})
	return t.apply()
}
