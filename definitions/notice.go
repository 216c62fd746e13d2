package definitions

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/definitions/bekanntgabe"
)

// NoticeActs are the kinds of administrative act a notice can issue.
var NoticeActs = []string{"decision", "request", "neighbour-notification", "fee-notice", "hearing", "other"}

// Notices returns every notice the definition's steps issue (in all flows),
// by id. A notice id may be issued by several steps (e.g. first by the
// portal, then by post).
func (p *Procedure) Notices() map[string][]*Notice {
	out := map[string][]*Notice{}
	var walk func(steps []Step)
	walk = func(steps []Step) {
		for i := range steps {
			st := &steps[i]
			if st.Notice != nil && st.Notice.ID != "" {
				out[st.Notice.ID] = append(out[st.Notice.ID], st.Notice)
			}
			for j := range st.Branches {
				walk(st.Branches[j].Steps)
			}
			if st.Body != nil {
				walk(st.Body.Steps)
			}
		}
	}
	walk(p.Steps)
	return out
}

// checkNotice checks the notice a service or task step issues.
func (v *validator) checkNotice(np string, st *Step) {
	n := st.Notice
	if st.Type != StepService && st.Type != StepTask {
		v.errAt(np, fmt.Sprintf("a %s step cannot issue a notice", st.Type), "move notice: to the service or task step that sends the act")
		return
	}
	if n.ID == "" {
		v.errAt(ptrJoin(np, "id"), "the notice has no id", "name it, e.g. id: bescheid; wait steps refer to it in deadlineFrom")
	}
	if !slices.Contains(NoticeActs, n.Act) {
		v.errAt(ptrJoin(np, "act"), fmt.Sprintf("act %q is not known", n.Act), "use one of "+strings.Join(NoticeActs, ", "))
	}
	ch := bekanntgabe.Channel(n.Channel)
	if !ch.Valid() {
		var names []string
		for _, c := range bekanntgabe.Channels() {
			names = append(names, string(c))
		}
		v.errAt(ptrJoin(np, "channel"), fmt.Sprintf("channel %q is not known", n.Channel), "use one of "+strings.Join(names, ", "))
		return
	}
	if n.Proof != "" {
		i, ok := v.events[n.Proof]
		if !ok {
			v.refError(ptrJoin(np, "proof"), "event", n.Proof, keys(v.events), fmt.Sprintf("declare it under events: - id: %s", n.Proof))
		} else if v.p.Events[i].OccurredAt == "" && ch == bekanntgabe.Zustellung {
			v.errAt(ptrJoin(np, "proof"), fmt.Sprintf("event %q carries the proof of service but names no date field", n.Proof),
				"set occurredAt: on the event to the field holding the date on the proof, e.g. occurredAt: zugestelltAm")
		}
	} else if ch.NeedsProof() {
		v.errAt(ptrJoin(np, "proof"), fmt.Sprintf("a %s delivery needs the event that records the proof or retrieval", ch),
			"name it, e.g. proof: bescheid-zugestellt")
	}
}

// checkDatedWait checks the fields of a wait step that tie its deadline to
// a notice and to the time events happened.
func (v *validator) checkDatedWait(f *flow, sp string, st *Step) {
	if st.DeadlineFrom != "" {
		if st.Deadline == "" {
			v.errAt(ptrJoin(sp, "deadlineFrom"), "deadlineFrom needs a deadline", "add the period, e.g. deadline: P1M")
		}
		ns := v.p.Notices()
		if len(ns[st.DeadlineFrom]) == 0 {
			v.refError(ptrJoin(sp, "deadlineFrom"), "notice", st.DeadlineFrom, keys(ns),
				"declare it on the step that sends the act: notice: {id: "+st.DeadlineFrom+", act: decision, channel: post}")
		}
		portal := false
		for _, n := range ns[st.DeadlineFrom] {
			portal = portal || n.Channel == string(bekanntgabe.Portal)
		}
		if portal && st.OnNotEffected == "" {
			v.errAt(ptrJoin(sp, "deadlineFrom"), fmt.Sprintf("notice %q is provided in the portal, which can end unretrieved (§ 41 (2a) VwVfG)", st.DeadlineFrom),
				"say where the procedure goes then: onNotEffected: <step>, e.g. a task to deliver by post")
		}
	} else {
		if st.OnNotEffected != "" {
			v.errAt(ptrJoin(sp, "onNotEffected"), "onNotEffected needs deadlineFrom", "name the notice the deadline runs from: deadlineFrom: <notice id>")
		}
		if st.RemedyPeriod {
			v.errAt(ptrJoin(sp, "remedyPeriod"), "remedyPeriod needs deadlineFrom", "name the decision's notice: deadlineFrom: <notice id>")
		}
	}
	v.refStep(f, ptrJoin(sp, "onNotEffected"), st.OnNotEffected)
	v.refStep(f, ptrJoin(sp, "onLate"), st.OnLate)
	if st.LateDelivery != "" {
		v.checkDuration(ptrJoin(sp, "lateDelivery"), st.LateDelivery)
		if d, err := time.ParseDuration(st.LateDelivery); err == nil && d < 0 {
			v.errAt(ptrJoin(sp, "lateDelivery"), "lateDelivery must not be negative", "write e.g. 72h")
		}
	}
	if st.ExtendableBy != "" {
		v.refRole(ptrJoin(sp, "extendableBy"), st.ExtendableBy)
		if st.Deadline == "" {
			v.errAt(ptrJoin(sp, "extendableBy"), "extendableBy needs a deadline", "add the period, e.g. deadline: P1M")
		}
		if st.RemedyPeriod {
			v.errAt(ptrJoin(sp, "extendableBy"), "a remedy period is statutory and cannot be extended (§ 31 (7) VwVfG covers periods the authority set)", "remove extendableBy")
		}
	}
	if (st.CountFromStartOfDay || st.NoShift) && st.Deadline == "" {
		v.errAt(sp, "countFromStartOfDay and noShift need a deadline", "add the period, e.g. deadline: P1M, or remove them")
	}
	if (st.OnLate != "" || st.LateDelivery != "") && st.Deadline == "" {
		v.errAt(sp, "onLate and lateDelivery need a deadline", "add the period, e.g. deadline: P1M")
	}
	if st.Collect {
		if st.Deadline == "" {
			v.errAt(ptrJoin(sp, "collect"), "collect needs a deadline: it collects events until the period ends",
				"add the period, e.g. deadline: P1M, and onExpiry: <step> for a period without events")
		}
		if st.OnLate != "" {
			v.errAt(ptrJoin(sp, "onLate"), "a collecting wait takes no onLate: it ends when its period ends, and events after that stay for a later step",
				"remove onLate, or drop collect to take only the first event")
		}
	}
}
