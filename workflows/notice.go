package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/bekanntgabe"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// noticeState is the delivery record of an act the procedure issued,
// carried across continue-as-new.
type noticeState struct {
	ID         string           `json:"id"`
	Act        string           `json:"act"`
	Title      definitions.Text `json:"title"`
	Channel    string           `json:"channel"`
	Dispatched string           `json:"dispatched"`
	// ProofEvent is the CloudEvents type of the proof or retrieval record.
	ProofEvent string `json:"proofEvent,omitempty"`
	Proof      string `json:"proof,omitempty"`
	// RemedyInstruction: the act carries a correct Rechtsbehelfsbelehrung.
	RemedyInstruction bool     `json:"remedyInstruction"`
	State             string   `json:"state"`
	Date              string   `json:"date,omitempty"`
	Estimate          string   `json:"estimate,omitempty"`
	WindowEnd         string   `json:"windowEnd,omitempty"`
	Provision         string   `json:"provision,omitempty"`
	Rules             []string `json:"rules,omitempty"`
}

// issueNotice records the delivery of the act a step issued and its day of
// Bekanntgabe (as far as known).
func (r *run) issueNotice(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) error {
	n := step.Notice
	dispatched := today(ctx)
	if n.Dispatched != "" {
		v, err := evalAny(n.Dispatched, r.scope(ctx, vars))
		if err != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s notice.dispatched: %v", path, err), "BadExpression", err)
		}
		s, _ := v.(string)
		day, err := dayOf(s)
		if err != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s notice.dispatched: %v", path, err), "BadExpression", err)
		}
		dispatched = day
	}
	st := &noticeState{
		ID: n.ID, Act: n.Act, Title: n.Title, Channel: n.Channel, Dispatched: dispatched,
		RemedyInstruction: n.RemedyInstruction == nil || *n.RemedyInstruction,
	}
	if st.Title.De == "" {
		st.Title = actTitle(n.Act)
	}
	if n.Proof != "" {
		st.ProofEvent = r.eventDef(n.Proof).Type
	}
	if err := r.deem(ctx, st, "", ""); err != nil {
		return err
	}
	r.Notices[n.ID] = st
	if item := itemScope(path); item != "" {
		// Issued in a for-each body: each item (e.g. each neighbour) keeps
		// its own delivery record, which the waits of the same body read.
		// Only new runs take this (the marker is recorded), so histories
		// of notices issued in a body before it keep their commands.
		if workflow.GetVersion(ctx, "notice-per-item", workflow.DefaultVersion, 1) == 1 {
			r.Notices[item+"#"+n.ID] = st
		}
	}
	r.emitNotice(ctx, st, path)
	return nil
}

// itemScope is the part of a step path that names the for-each item it
// runs for ("nachbarn/benachrichtigen[2]" of
// "nachbarn/benachrichtigen[2]/senden"), or "" outside a for-each body.
func itemScope(path string) string {
	if i := strings.LastIndex(path, "]"); i >= 0 {
		return path[:i+1]
	}
	return ""
}

// notice is the delivery record a wait at path refers to: the one issued
// for the same for-each item, else the one of the procedure.
func (r *run) notice(id, path string) *noticeState {
	if item := itemScope(path); item != "" {
		if n := r.Notices[item+"#"+id]; n != nil {
			return n
		}
	}
	return r.Notices[id]
}

// deem computes the day of Bekanntgabe from what is known (recorded in the
// history once).
func (r *run) deem(ctx workflow.Context, st *noticeState, proof, asOf string) error {
	lao := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	req := activities.BekanntgabeRequest{Channel: st.Channel, Dispatched: st.Dispatched, Proof: proof, AsOf: asOf, Calendar: r.def.Calendar, Tenant: r.in.Tenant}
	var res bekanntgabe.Result
	if err := workflow.ExecuteLocalActivity(lao, activities.DeemBekanntgabeName, req).Get(ctx, &res); err != nil {
		return fmt.Errorf("notice %s (%s, dispatched %s): %w", st.ID, st.Channel, st.Dispatched, err)
	}
	st.Proof = proof
	st.State, st.Provision, st.Rules = res.State, res.Provision, res.Rules
	st.Date, st.Estimate, st.WindowEnd = dateString(res.Date), dateString(res.Estimate), dateString(res.WindowEnd)
	return nil
}

func dateString(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// emitNotice tells the citizen about the delivery in the public timeline;
// the entry carries the structured record.
func (r *run) emitNotice(ctx workflow.Context, st *noticeState, path string) {
	var de, en string
	switch st.State {
	case bekanntgabe.Effected:
		de = fmt.Sprintf("%s bekanntgegeben am %s (%s; %s).", st.Title.De, german(st.Date), channelDe[st.Channel], st.Provision)
		en = fmt.Sprintf("%s notified on %s (%s; %s).", st.Title.In("en"), st.Date, channelEn[st.Channel], st.Provision)
	case bekanntgabe.AwaitingProof:
		if st.Channel == string(bekanntgabe.Portal) {
			de = fmt.Sprintf("%s steht seit %s in Ihrem Postfach zum Abruf bereit, bis %s. Die Frist läuft ab dem Tag nach dem Abruf.", st.Title.De, german(st.Dispatched), german(st.WindowEnd))
			en = fmt.Sprintf("%s is ready for retrieval in your mailbox since %s, until %s. The period runs from the day after retrieval.", st.Title.In("en"), st.Dispatched, st.WindowEnd)
		} else {
			de = fmt.Sprintf("%s am %s zur Zustellung versandt. Die Frist läuft ab dem Tag der Zustellung.", st.Title.De, german(st.Dispatched))
			en = fmt.Sprintf("%s sent for formal service on %s. The period runs from the day of service.", st.Title.In("en"), st.Dispatched)
		}
	case bekanntgabe.NotEffected:
		de = fmt.Sprintf("%s wurde nicht abgerufen; die Bereitstellung ist beendet, die Bekanntgabe nicht bewirkt (§ 41 Abs. 2a VwVfG).", st.Title.De)
		en = fmt.Sprintf("%s was not retrieved; the provision has ended and it has not been notified (§ 41 (2a) VwVfG).", st.Title.In("en"))
	}
	info := &events.NoticeInfo{ID: st.ID, Act: st.Act, Title: text(st.Title), Channel: st.Channel, Dispatched: st.Dispatched,
		Proof: st.Proof, State: st.State, Bekanntgabe: st.Date, Provision: st.Provision, Rules: st.Rules}
	r.emit(ctx, events.KindTimeline, path, func(e *events.ProcedureEvent) {
		e.Timeline = &events.TimelineEntry{Text: events.LocalText{De: de, En: en}, Notice: info}
	})
}

var channelDe = map[string]string{"post": "Post", "portal": "Abruf im Postfach", "zustellung": "Zustellung", "hand": "Übergabe", "public": "öffentliche Bekanntmachung"}
var channelEn = map[string]string{"post": "post", "portal": "portal retrieval", "zustellung": "formal service", "hand": "handed over", "public": "public notice"}

func actTitle(act string) definitions.Text {
	switch act {
	case "decision":
		return definitions.Text{De: "Bescheid", En: "Decision"}
	case "request":
		return definitions.Text{De: "Nachforderung", En: "Request for documents"}
	case "neighbour-notification":
		return definitions.Text{De: "Benachrichtigung der Nachbarn", En: "Notification of the neighbours"}
	case "fee-notice":
		return definitions.Text{De: "Gebührenbescheid", En: "Fee notice"}
	case "hearing":
		return definitions.Text{De: "Anhörungsschreiben", En: "Hearing letter"}
	}
	return definitions.Text{De: "Schreiben", En: "Letter"}
}

// german writes YYYY-MM-DD as DD.MM.YYYY.
func german(day string) string {
	if len(day) != 10 {
		return day
	}
	return day[8:10] + "." + day[5:7] + "." + day[0:4]
}

// dayOf reads a day (YYYY-MM-DD) or an instant (RFC 3339) and returns the
// day at the authority's seat.
func dayOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(berlin).Format(time.DateOnly), nil
	}
	return "", fmt.Errorf("%q is neither a day (YYYY-MM-DD) nor a time (RFC 3339)", s)
}

// eventDay is the day (at the authority's seat) on which an applicant event
// happened: the field the definition names (occurredAt), else the
// CloudEvent's time, else — for a signal without a time — now.
func (r *run) eventDay(ctx workflow.Context, e contract.ApplicantEvent, def definitions.Event) (string, error) {
	if def.OccurredAt != "" {
		var data map[string]any
		_ = json.Unmarshal(e.Data, &data)
		s, _ := data[def.OccurredAt].(string)
		day, err := dayOf(s)
		if err != nil {
			return "", fmt.Errorf("event %s: field %s: %w", def.ID, def.OccurredAt, err)
		}
		return day, nil
	}
	if !e.Time.IsZero() {
		return e.Time.In(berlin).Format(time.DateOnly), nil
	}
	return today(ctx), nil
}

// proofEventDef is the definition's event of a CloudEvents type.
func (r *run) eventByType(typ string) definitions.Event {
	for _, e := range r.def.Events {
		if e.Type == typ {
			return e
		}
	}
	return definitions.Event{ID: typ, Type: typ}
}

// runWaitDated waits for an event until a deadline that runs from a fact:
// the day of Bekanntgabe of a notice (deadlineFrom), recomputed when the
// proof of service or the retrieval arrives; and an event counts on the day
// it happened, not the day it reached the engine (lateDelivery, onLate).
// With match, only the events (and proofs) the expression takes count;
// with collect, the wait takes every such event until the period ends.
func (r *run) runWaitDated(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	ev := r.eventDef(step.Event)
	reqID := path + "#" + strconv.Itoa(r.Visits[path])
	title := step.Title
	if title.De == "" {
		title = ev.Title
	}
	var grace time.Duration
	if step.LateDelivery != "" {
		d, err := time.ParseDuration(step.LateDelivery)
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s lateDelivery: %v", path, err), "BadDefinition", err)
		}
		grace = d
	}
	startDay := today(ctx)
	var n *noticeState
	if step.DeadlineFrom != "" {
		n = r.notice(step.DeadlineFrom, path)
		if n == nil {
			msg := fmt.Sprintf("step %s: notice %q has not been issued, so its period cannot start: issue it on a step before this one", path, step.DeadlineFrom)
			return "", temporal.NewNonRetryableApplicationError(msg, "BadDefinition", nil)
		}
	}
	period := step.Deadline
	if step.RemedyPeriod && n != nil && !n.RemedyInstruction {
		// § 58 (2) VwGO: without a correct Rechtsbehelfsbelehrung the remedy
		// may be lodged within one year of Bekanntgabe.
		period = "P1Y"
		r.emit(ctx, events.KindTimeline, path, func(e *events.ProcedureEvent) {
			e.Timeline = &events.TimelineEntry{Text: events.LocalText{
				De: "Der Bescheid enthält keine ordnungsgemäße Rechtsbehelfsbelehrung: die Frist beträgt ein Jahr (§ 58 Abs. 2 VwGO).",
				En: "The decision carries no correct instruction on remedies: the period is one year (§ 58 (2) VwGO)."}}
		})
	}
	r.pauseClocks(ctx, step.PauseClocks)

	var dl activitiesDeadline
	from, provisional, opened := "", false, false
	deadlineEvent := func(state string) {
		due := dl.End
		if state == "paused" {
			due = ""
		}
		r.emit(ctx, events.KindDeadline, path, func(e *events.ProcedureEvent) {
			e.Deadline = &events.DeadlineInfo{ID: reqID, Title: text(title), State: state, Due: due, Public: true,
				From: from, Notice: step.DeadlineFrom, Provisional: provisional, Rules: dl.Rules}
		})
	}
	requestEvent := func(kind events.Kind, state string) {
		if step.Request.De == "" {
			return
		}
		r.emit(ctx, kind, path, func(e *events.ProcedureEvent) {
			e.Request = &events.RequestInfo{ID: reqID, Text: text(step.Request), Due: dl.End, State: state}
		})
	}
	var proofDef definitions.Event
	if n != nil && n.ProofEvent != "" {
		proofDef = r.eventByType(n.ProofEvent)
	}
	if step.Match != "" {
		r.scope(ctx, vars)
	}
	proofIndex := func() int {
		if n == nil || n.State != bekanntgabe.AwaitingProof || n.ProofEvent == "" {
			return -1
		}
		return r.matchingIndex(n.ProofEvent, step, vars)
	}
	proofPending := func() bool { return proofIndex() >= 0 }
	var collected []any
	if step.Collect && step.Output != "" {
		vars[step.Output] = []any{}
	}

	r.waits[reqID] = &activeWait{step: step}
	defer delete(r.waits, reqID)
	next, state := "", ""
	for {
		if i := proofIndex(); i >= 0 {
			e := r.take(i)
			day, err := r.eventDay(ctx, e, proofDef)
			if err != nil {
				return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s: %v", path, err), "BadEvent", err)
			}
			if err := r.deem(ctx, n, day, ""); err != nil {
				return "", err
			}
			r.emitNotice(ctx, n, path)
		}
		if n != nil && n.State == bekanntgabe.NotEffected {
			if opened {
				deadlineEvent("paused")
			}
			next, state = step.OnNotEffected, "expired"
			break
		}
		f, prov := startDay, false
		if n != nil && n.State == bekanntgabe.Effected {
			f = n.Date
		} else if n != nil {
			f, prov = n.Estimate, true
		}
		if f != from || prov != provisional {
			if f != from {
				d, err := r.deadlineWith(ctx, f, period, 0, stepOptions(step))
				if err != nil {
					return "", err
				}
				dl = d
			}
			from, provisional = f, prov
			r.waits[reqID].end, r.waits[reqID].provisional = dl.End, prov
			if !opened {
				requestEvent(events.KindRequestOpened, "open")
				opened = true
			}
			deadlineEvent("running")
		}

		if r.applyExtension(ctx, reqID, path, &dl) {
			if step.Request.De != "" {
				requestEvent(events.KindRequestOpened, "open")
			}
			deadlineEvent("running")
		}
		cond := func() bool {
			return r.matchingIndex(ev.Type, step, vars) >= 0 || proofPending() || r.extensionPending(reqID)
		}
		var timeout time.Duration
		timed := true
		switch {
		case !provisional:
			timeout = dl.FiresAt.Add(grace).Sub(workflow.Now(ctx))
		case n.Channel == string(bekanntgabe.Portal):
			end, _ := calendar.ParseDate(n.WindowEnd)
			timeout = calendar.EndOfDay(end).Sub(workflow.Now(ctx))
		default:
			timed = false // no period runs before the proof of service
		}
		ok := true
		var err error
		if timed {
			ok, err = workflow.AwaitWithTimeout(ctx, max(timeout, time.Millisecond), cond)
		} else {
			err = workflow.Await(ctx, cond)
		}
		if err != nil {
			return "", err
		}
		if !ok {
			if provisional {
				// The portal provision ended unretrieved.
				if err := r.deem(ctx, n, "", today(ctx)); err != nil {
					return "", err
				}
				r.emitNotice(ctx, n, path)
				continue
			}
			next, state = step.OnExpiry, "expired"
			r.FinalFrom = dl.End
			if step.Collect && len(collected) > 0 {
				next, state = step.Next, "fulfilled"
			}
			break
		}
		if proofPending() || r.extensionPending(reqID) {
			continue
		}
		e := r.take(r.matchingIndex(ev.Type, step, vars))
		day, err := r.eventDay(ctx, e, ev)
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s: %v", path, err), "BadEvent", err)
		}
		late := !provisional && day > dl.End
		if step.Collect {
			// Every event that happened in the period counts; one after
			// its end is noted but not collected.
			if !late {
				collected = append(collected, decodeJSON(e.Data))
				if step.Output != "" {
					vars[step.Output] = collected
				}
			}
		} else if step.Output != "" {
			vars[step.Output] = decodeJSON(e.Data)
		}
		r.emit(ctx, events.KindTimeline, path, func(pe *events.ProcedureEvent) {
			pe.Actor = "applicant"
			t := ev.Title
			if t.De == "" {
				t = definitions.Text{De: "Nachricht des Antragstellers eingegangen", En: "Message from the applicant received"}
			}
			de, en := t.De+" (eingegangen am "+german(day)+")", t.In("en")+" (received on "+day+")"
			if late {
				de += " – nach Ablauf der Frist am " + german(dl.End)
				en += " – after the period ended on " + dl.End
			}
			pe.Timeline = &events.TimelineEntry{Text: events.LocalText{De: de, En: en}}
		})
		if step.Collect {
			continue
		}
		if late {
			next, state = step.OnLate, "expired"
			if next == "" {
				next = step.OnExpiry
			}
		} else {
			next, state = step.Next, "fulfilled"
		}
		break
	}
	if err := r.resumeClocks(ctx, step.PauseClocks); err != nil {
		return "", err
	}
	if opened {
		requestEvent(events.KindRequestClosed, state)
		if state == "fulfilled" {
			deadlineEvent("met")
		} else if n == nil || n.State != bekanntgabe.NotEffected {
			deadlineEvent("expired")
		}
	}
	return next, nil
}

// stepOptions are the counting options a wait step sets.
func stepOptions(step *definitions.Step) calendar.Options {
	return calendar.Options{StartOfDay: step.CountFromStartOfDay, NoShift: step.NoShift}
}
