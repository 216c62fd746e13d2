package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// citizenView is the status document as the citizen's portal reads it.
type citizenView struct {
	Procedure struct {
		Key     string `json:"key"`
		Version string `json:"version"`
	} `json:"procedure"`
	Milestone *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"milestone"`
	Timeline []struct {
		Text string `json:"text"`
	} `json:"timeline"`
	NextDeadline *struct {
		Date  string `json:"date"`
		Title string `json:"title"`
	} `json:"nextDeadline"`
	OpenRequests []struct {
		Text string `json:"text"`
		Due  string `json:"due"`
	} `json:"openRequests"`
	Outcome *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"outcome"`
}

func view(t *testing.T, d *devstack.Dev, ref, code, lang string) citizenView {
	t.Helper()
	status, body := getStatus(t, d.APIURL, ref, code, lang)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var v citizenView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v citizenView) timeline() string {
	var parts []string
	for _, e := range v.Timeline {
		parts = append(parts, e.Text)
	}
	return strings.Join(parts, " | ")
}

// awaitView polls the citizen's view until ok accepts it. Events reach the
// projection in batches, so a milestone may show a moment before the
// request that comes with it.
func awaitView(t *testing.T, d *devstack.Dev, ref, code string, ok func(citizenView) bool) citizenView {
	t.Helper()
	e2e.AwaitProjected(t, d.APIURL, ref)
	deadline := time.Now().Add(60 * time.Second)
	var v citizenView
	for time.Now().Before(deadline) {
		if v = view(t, d, ref, code, "de"); ok(v) {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the citizen's view never reached the expected state; last: %+v", v)
	return v
}

// awaitMilestone waits until the citizen sees milestone id.
func awaitMilestone(t *testing.T, d *devstack.Dev, ref, code, id string) {
	t.Helper()
	waitStatus(t, d.APIURL, ref, code, func(s statusDoc) bool { return s.Milestone != nil && s.Milestone.ID == id })
}

// procedureClock reads the due date of the procedure's clock id from the
// workflow's state (what the procedure recorded, not recomputed here).
func procedureClock(t *testing.T, d *devstack.Dev, ref, id string) string {
	t.Helper()
	c, err := d.Stack.Temporal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.QueryWorkflow(context.Background(), contract.WorkflowID(ref), "", contract.QueryState)
	if err != nil {
		t.Fatalf("query %s: %v", ref, err)
	}
	var st contract.StateView
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	cl, ok := st.Clocks[id]
	if !ok || cl.Due == "" {
		t.Fatalf("the procedure has no due date for clock %s: %+v", id, st.Clocks)
	}
	return cl.Due
}

// wantWorkingDay checks that date (YYYY-MM-DD) is not a Saturday or Sunday.
func wantWorkingDay(t *testing.T, what, date string) {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatalf("%s: %q is not a date: %v", what, date, err)
	}
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		t.Errorf("%s is %s, a %s; a period never ends on a weekend (§ 31 (3) VwVfG)", what, date, wd)
	}
}

// wantDaysAhead checks that date lies min to max days after from (both
// YYYY-MM-DD), counted by the time package rather than the calendar under
// test.
func wantDaysAhead(t *testing.T, what, date, from string, min, max int) {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatalf("%s: %q is not a date: %v", what, date, err)
	}
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		t.Fatal(err)
	}
	if days := int(d.Sub(f).Hours() / 24); days < min || days > max {
		t.Errorf("%s is %s, %d days after %s; want %d to %d", what, date, days, from, min, max)
	}
}

// completeOpen completes every open task of the procedure with data.
func completeOpen(t *testing.T, d *devstack.Dev, ref string, want int, data string) {
	t.Helper()
	c, err := d.Stack.Temporal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := d.Stack.Procedures(context.Background())
	clerk := contract.Actor{Subject: "g.gewerbe", Tenant: "stadt-erfurt", Roles: []string{"gewerbeamt"}}
	deadline := time.Now().Add(60 * time.Second)
	var open []contract.TaskView
	for time.Now().Before(deadline) {
		open = open[:0]
		if v, err := c.QueryWorkflow(context.Background(), contract.WorkflowID(ref), "", contract.QueryState); err == nil {
			var st contract.StateView
			if v.Get(&st) == nil {
				for _, tk := range st.Tasks {
					if tk.Status == contract.TaskOpen {
						open = append(open, tk)
					}
				}
			}
		}
		if len(open) >= want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(open) != want {
		t.Fatalf("%d open tasks, want %d", len(open), want)
	}
	for _, tk := range open {
		ctx := context.Background()
		if _, err := pc.Claim(ctx, ref, contract.TaskRequest{TaskID: tk.ID, Actor: clerk}); err != nil {
			t.Fatalf("claim %s: %v", tk.ID, err)
		}
		if _, err := pc.Complete(ctx, ref, contract.CompleteRequest{TaskID: tk.ID, Actor: clerk, Data: json.RawMessage(data)}); err != nil {
			t.Fatalf("complete %s: %v", tk.ID, err)
		}
	}
}

// applicantEvent is what the portal sends when the citizen answers.
func applicantEvent(t *testing.T, d *devstack.Dev, id, ref, data string) {
	t.Helper()
	v, err := events.Encode(id, "urn:portal:test", "de.amtsweg.applicant.documents-submitted.v1", ref, time.Now(), json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	w := kafkabus.NewWriter(d.Brokers, events.TopicApplicant)
	defer w.Close()
	if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte(ref), Value: v}); err != nil {
		t.Fatal(err)
	}
}

// projections dumps every read model and the audit log, minus the times
// the database stamps itself, in a stable order.
func projections(t *testing.T, d *devstack.Dev) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range []string{"applications", "timeline", "deadlines", "tasks", "requests", "incidents", "procedure_events"} {
		out[table] = storetest.TableJSON(t, d.Database, table, "applied_at", "updated_at", "projected_at")
	}
	return out
}

// TestCitizenAnswersRequestThroughKafka follows a business registration
// through a request for missing documents that the citizen answers through
// the portal (Kafka), then to the decision; after each step the status shows
// the right milestone, timeline, deadline and open request, in German and
// English. Finally the read models are dropped and rebuilt from the event
// topic, and come back row for row.
func TestCitizenAnswersRequestThroughKafka(t *testing.T) {
	// This is gewerbeanmeldung 1.0.0 (request with Rücknahmefiktion, then
	// the receipt): the version valid on 5 December 2026; 2.0.0 takes over
	// on 1 January 2027.
	d := e2e.StartOn(t, e2e.DataDir(t), time.Date(2026, time.December, 5, 12, 0, 0, 0, time.UTC))
	defer d.Stop()
	// The day in Berlin before submitting: the procedure's days are this
	// day or later (a day later if the test crosses midnight).
	started := time.Now().In(calendar.Berlin()).Format(time.DateOnly)
	rc := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/gewerbeanmeldung.json"))
	ref, code := rc.Reference, rc.AccessCode

	awaitMilestone(t, d, ref, code, "in-pruefung")
	v := view(t, d, ref, code, "de")
	if v.Procedure.Key != "gewerbeanmeldung" || v.Procedure.Version != "1.0.0" {
		t.Fatalf("procedure %+v, want gewerbeanmeldung 1.0.0", v.Procedure)
	}
	if !strings.Contains(v.timeline(), "Ihre Gewerbeanmeldung ist eingegangen.") {
		t.Errorf("timeline after receipt: %s", v.timeline())
	}
	// The processing period of one month runs from receipt. This test
	// runs on the real clock (the embedded Temporal server's time cannot
	// be set), so it does not recompute the legal date — that would make
	// the calendar its own oracle; the arithmetic is tested with
	// hand-worked dates where the clock is fixed (definitions/calendar,
	// workflows, definitions/procedures). Here: the citizen sees the date
	// the procedure recorded, and it is a working day.
	today := time.Now().In(calendar.Berlin()).Format(time.DateOnly) // read before the clerk's steps; used as form data only
	processing := procedureClock(t, d, ref, "bearbeitungsfrist")
	if v.NextDeadline == nil || v.NextDeadline.Date != processing || v.NextDeadline.Title != "Bearbeitungsfrist" {
		t.Errorf("next deadline after receipt: %+v, want %s Bearbeitungsfrist (the procedure's clock)", v.NextDeadline, processing)
	}
	wantWorkingDay(t, "the processing period's end", processing)
	// A period of one month ends 28 days (31 January → 28 February, § 188
	// (3) BGB) to 31 days after its start, plus at most 4 days past a
	// weekend and holidays (§ 31 (3) VwVfG), plus one if the test crossed
	// midnight: 28 to 36 days after the day the test started.
	wantDaysAhead(t, "the processing period's end", processing, started, 28, 36)

	// The clerk finds documents missing: the citizen is asked, with a
	// two-week deadline, and the processing period pauses.
	completeOpen(t, d, ref, 1, `{"vollstaendig": false, "erlaubnispflichtig": false, "fehlendeUnterlagen": "Personalausweis"}`)
	awaitMilestone(t, d, ref, code, "unterlagen-fehlen")
	v = awaitView(t, d, ref, code, func(v citizenView) bool { return len(v.OpenRequests) > 0 })
	if len(v.OpenRequests) != 1 {
		t.Fatalf("open requests: %+v, want one", v.OpenRequests)
	}
	due := v.OpenRequests[0].Due
	// Two weeks end on the same weekday 14 days on (§ 188 (2) BGB), moved
	// past a weekend or holidays (§ 31 (3) VwVfG; at most 4 days, Good
	// Friday to the Tuesday after Easter) — 14 to 19 days after the day the
	// test started, one more in case it crossed midnight in Berlin.
	wantWorkingDay(t, "the request's deadline", due)
	wantDaysAhead(t, "the request's deadline", due, started, 14, 19)
	if v.NextDeadline == nil || v.NextDeadline.Date != due {
		t.Errorf("next deadline while the period pauses: %+v, want the request's %s", v.NextDeadline, due)
	}
	en := view(t, d, ref, code, "en")
	if en.Milestone.Title != "Documents missing" || !strings.Contains(en.timeline(), "The trade office has requested missing documents.") {
		t.Errorf("English view: %+v / %s", en.Milestone, en.timeline())
	}

	// A portal message that does not match the event's schema, and one for
	// an unknown application, go to the dead-letter topic with the reason.
	applicantEvent(t, d, "portal-bad-1", ref, `{"dokumente": "not a list"}`)
	applicantEvent(t, d, "portal-bad-2", "GEWERBE-UNKNOWN-1", `{"dokumente": []}`)
	var reasons []string
	for _, dl := range readDeadLetters(t, d.Brokers, events.DLQ(events.TopicApplicant), 2) {
		reasons = append(reasons, dl.Reason)
	}
	joined := strings.Join(reasons, " | ")
	if !strings.Contains(joined, "schema") || !strings.Contains(joined, "GEWERBE-UNKNOWN-1") {
		t.Errorf("dead-letter reasons: %s", joined)
	}

	// The citizen submits the documents through the portal (twice: a
	// redelivery must count once).
	docs := `{"dokumente": [{"name": "personalausweis.pdf", "mediaType": "application/pdf"}]}`
	applicantEvent(t, d, "portal-ok-1", ref, docs)
	applicantEvent(t, d, "portal-ok-1", ref, docs)
	awaitMilestone(t, d, ref, code, "in-pruefung")
	v = awaitView(t, d, ref, code, func(v citizenView) bool { return len(v.OpenRequests) == 0 })
	if len(v.OpenRequests) != 0 || !strings.Contains(v.timeline(), "Unterlagen nachgereicht") {
		t.Errorf("after the documents: requests %+v, timeline %s", v.OpenRequests, v.timeline())
	}

	// Complete now: receipt, then both notifications in parallel.
	completeOpen(t, d, ref, 1, `{"vollstaendig": true, "erlaubnispflichtig": false}`)
	completeOpen(t, d, ref, 1, fmt.Sprintf(`{"eingetragenAm": %q}`, today))
	completeOpen(t, d, ref, 2, fmt.Sprintf(`{"uebermitteltAm": %q}`, today))
	st := waitStatus(t, d.APIURL, ref, code, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "registered" || st.Milestone.ID != "registriert" {
		t.Errorf("decision: outcome %+v milestone %+v", st.Outcome, st.Milestone)
	}
	en = view(t, d, ref, code, "en")
	if en.Outcome.Title != "Registered" || en.NextDeadline != nil || len(en.OpenRequests) != 0 {
		t.Errorf("English final view: %+v", en)
	}

	// The portal was told every public change on the status topic.
	var kinds []string
	for _, m := range readAll(t, d.Brokers, events.TopicStatus, ref) {
		var sc events.StatusChange
		env, err := events.Decode(m.Value)
		if err != nil || json.Unmarshal(env.Data, &sc) != nil {
			t.Fatalf("status message: %v", err)
		}
		kinds = append(kinds, string(sc.Kind))
	}
	for _, k := range []string{"milestone", "request-opened", "request-closed", "completed"} {
		if !strings.Contains(strings.Join(kinds, ","), k) {
			t.Errorf("status topic lacks %s: %v", k, kinds)
		}
	}

	// Rebuild from the topic: the same rows.
	before := projections(t, d)
	if err := d.Stack.RebuildProjections(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := projections(t, d)
	for table, rows := range before {
		if after[table] != rows {
			t.Errorf("%s differs after the rebuild:\nbefore %s\nafter  %s", table, rows, after[table])
		}
	}
	if len(before["procedure_events"]) < 100 {
		t.Errorf("suspiciously small audit log: %s", before["procedure_events"])
	}
}

func readDeadLetters(t *testing.T, brokers []string, topic string, n int) []kafkabus.DeadLetter {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafkabus.DeadLetter
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("dead letters on %s: %v (have %d)", topic, err, len(out))
		}
		dl, err := kafkabus.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

// readAll reads every message with key ref from all partitions of topic.
func readAll(t *testing.T, brokers []string, topic, ref string) []kafka.Message {
	t.Helper()
	ranges, err := kafkabus.Offsets(context.Background(), brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for p, rg := range ranges {
		if rg.End <= rg.First {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			if string(m.Key) == ref {
				out = append(out, m)
			}
			if m.Offset >= rg.End-1 {
				break
			}
		}
		cancel()
		r.Close()
	}
	return out
}
