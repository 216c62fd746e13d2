package suite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestSeedMatchesTheProjector checks that the status lookups measure what
// the product serves: an application seeded straight into the read models
// reads, through the status lookup, exactly like the same application
// built by the projector from its domain events.
func TestSeedMatchesTheProjector(t *testing.T) {
	s, url := storetest.New(t)
	ctx := context.Background()
	// The benchmark seeds with COPY on its own pool, as the suite does.
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := seedApplications(ctx, db, 1, len(seedTimeline), 50); err != nil {
		t.Fatal(err)
	}
	seeded, err := s.ApplicationStatus(ctx, seedRef(0))
	if err != nil {
		t.Fatal(err)
	}

	// The same application as its workflow would have emitted it.
	const ref = "PROJECTED-00000000"
	at := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	code := sha256Hex(events.CanonicalAccessCode(seedAccessCode(0)))
	var milestones []events.MilestoneInfo
	if err := json.Unmarshal([]byte(seedMilestones), &milestones); err != nil {
		t.Fatal(err)
	}
	var title, msTitle, msDesc, deadlineTitle, reqText events.LocalText
	for _, x := range []struct {
		s string
		v *events.LocalText
	}{{seedTitle, &title}, {seedMilestoneTitle, &msTitle}, {seedMilestoneDesc, &msDesc},
		{localJSON("Entscheidungsfrist", "Decision period"), &deadlineTitle},
		{localJSON("Bitte reichen Sie den Lageplan nach.", "Please submit the site plan."), &reqText}} {
		if err := json.Unmarshal([]byte(x.s), x.v); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(seq int, kind events.Kind, when time.Time) *events.ProcedureEvent {
		return &events.ProcedureEvent{Reference: ref, Seq: int64(seq), Tenant: seedTenant(0, 50), Kind: kind, Time: when, Actor: "system"}
	}
	first := ev(1, events.KindReceived, at)
	first.Received = &events.Received{Procedure: "bauantrag", Version: "1.0.0", DefinitionHash: "sha256-bench", AccessCodeSHA256: code,
		ReceivedAt: at, Title: title, Applicant: json.RawMessage(`{"name":"Erika Mustermann"}`),
		Payload: json.RawMessage(`{"parcel":"Flur 3, Flurstück 17"}`), Milestones: milestones}
	evs := []*events.ProcedureEvent{first}
	for k := range seedTimeline {
		e := ev(k+2, events.KindTimeline, at.Add(time.Duration(k)*time.Hour))
		var text events.LocalText
		if err := json.Unmarshal([]byte(seedTimeline[k]), &text); err != nil {
			t.Fatal(err)
		}
		e.Timeline = &events.TimelineEntry{Text: text}
		evs = append(evs, e)
	}
	n := len(evs)
	m := ev(n+1, events.KindMilestone, at.Add(2*time.Hour))
	m.Milestone = &events.MilestoneInfo{ID: "in-review", Title: msTitle, Description: msDesc}
	d := ev(n+2, events.KindDeadline, at.Add(2*time.Hour))
	d.Deadline = &events.DeadlineInfo{ID: "decision", Title: deadlineTitle, State: "running", Due: at.AddDate(0, 3, 0).Format(time.DateOnly), Public: true}
	opened := at.Add(30 * time.Hour)
	r := ev(n+3, events.KindRequestOpened, opened)
	r.Request = &events.RequestInfo{ID: "lageplan", Text: reqText, Due: opened.AddDate(0, 0, 14).Format(time.DateOnly), State: "open"}
	if _, err := s.ApplyEvents(ctx, append(evs, m, d, r)); err != nil {
		t.Fatal(err)
	}
	projected, err := s.ApplicationStatus(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}

	// Only the bookkeeping may differ.
	for _, st := range []*store.Status{&seeded, &projected} {
		st.Reference, st.LastSeq, st.UpdatedAt = "", 0, time.Time{}
	}
	p, _ := json.MarshalIndent(projected, "", "  ")
	q, _ := json.MarshalIndent(seeded, "", "  ")
	if string(p) != string(q) {
		t.Errorf("a seeded application reads differently from a projected one:\nprojected: %s\nseeded: %s", p, q)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
