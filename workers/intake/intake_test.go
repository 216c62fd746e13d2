package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/intake"
)

const applicationSchema = `{
	"type": "object",
	"required": ["parcel", "costs"],
	"properties": {"parcel": {"type": "string"}, "costs": {"type": "number", "minimum": 0}}
}`

func deploy(t *testing.T, s *store.Store, key, version string) store.DefinitionRecord {
	t.Helper()
	d := store.DefinitionRecord{
		Key: key, Version: version, Hash: "sha256-" + key + "-" + version,
		ValidFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		Title:     events.LocalText{De: key}, Source: "key: " + key,
		Model: json.RawMessage(fmt.Sprintf(`{"key":%q,"version":%q,"applicationSchema":%s}`, key, version, applicationSchema)),
	}
	if _, err := s.DeployDefinition(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// recordingStarter records every Start and fails a reference transiently
// as often as told.
type recordingStarter struct {
	mu      sync.Mutex
	calls   map[string]int
	started map[string][]intake.StartRequest
	fail    map[string]int
}

func newStarter() *recordingStarter {
	return &recordingStarter{calls: map[string]int{}, started: map[string][]intake.StartRequest{}, fail: map[string]int{}}
}

func (r *recordingStarter) Start(_ context.Context, req intake.StartRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[req.Reference]++
	if r.fail[req.Reference] > 0 {
		r.fail[req.Reference]--
		return errors.New("temporal frontend unavailable")
	}
	r.started[req.Reference] = append(r.started[req.Reference], req)
	return nil
}

func (r *recordingStarter) startedOf(ref string) []intake.StartRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]intake.StartRequest(nil), r.started[ref]...)
}

type signal struct {
	Reference, Type, ID string
	Data                string
}

type recordingSignaler struct {
	mu      sync.Mutex
	running map[string]bool
	got     []signal
}

func (r *recordingSignaler) Signal(_ context.Context, ref, typ, id string, _ time.Time, data json.RawMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running[ref] {
		return fmt.Errorf("procedure %s: %w", ref, intake.ErrNoSuchProcedure)
	}
	r.got = append(r.got, signal{ref, typ, id, string(data)})
	return nil
}

func (r *recordingSignaler) signals() []signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]signal(nil), r.got...)
}

func submission(ref, procedure, tenant, payload string) intake.Submission {
	return intake.Submission{Procedure: procedure, Tenant: tenant, Reference: ref,
		Applicant: json.RawMessage(`{"name":"Erika Mustermann"}`), Payload: json.RawMessage(payload)}
}

var received = time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)

func encode(t *testing.T, s intake.Submission) (kafka.Message, intake.Receipt) {
	t.Helper()
	m, r, err := s.Encode(received)
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

func cloudEvent(t *testing.T, typ, subject string, data any) kafka.Message {
	t.Helper()
	b, err := events.Encode("id-"+subject+"-"+typ, "urn:test", typ, subject, received, data)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Key: []byte(subject), Value: b}
}

func deadLetters(t *testing.T, brokers []string, topic string, n int) []kafkabus.DeadLetter {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: events.DLQ(topic), GroupID: "dlq-check-" + topic,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafkabus.DeadLetter
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("dead letters of %s: have %d of %d: %v", topic, len(out), n, err)
		}
		dl, err := kafkabus.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIntake(t *testing.T) {
	brokers := testenv.Kafka(t)
	s, _ := storetest.New(t)
	ctx := context.Background()
	// The broker is shared: topics of this test alone.
	suffix := "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	intakeTopic, applicantTopic := events.TopicIntake+suffix, events.TopicApplicant+suffix
	if err := kafkabus.EnsureTopics(ctx, brokers,
		kafkabus.TopicSpec{Name: intakeTopic, Partitions: 1}, kafkabus.TopicSpec{Name: applicantTopic, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	def := deploy(t, s, "bauantrag", "1.0.0")
	deploy(t, s, "gewerbe", "2.1.0")

	starter := newStarter()
	starter.fail["BA-FLAKY"] = 2
	signaler := &recordingSignaler{running: map[string]bool{"BA-1": true}}

	valid, receipt := encode(t, submission("BA-1", "bauantrag", "bauamt-erfurt", `{"parcel":"Flur 3/17","costs":250000}`))
	reused, _ := encode(t, submission("BA-1", "bauantrag", "bauamt-erfurt", `{"parcel":"Flur 9/1","costs":1}`))
	flaky, _ := encode(t, submission("BA-FLAKY", "bauantrag", "bauamt-erfurt", `{"parcel":"Flur 1/1","costs":0}`))
	noTenant := cloudEvent(t, events.TypeApplicationSubmitted, "BA-2", map[string]any{
		"procedure": "bauantrag", "accessCodeSha256": storetest.AccessHash, "payload": map[string]any{"parcel": "x", "costs": 1}})
	unknown, _ := encode(t, submission("BA-3", "hundesteuer", "steueramt", `{"dog":"Bello"}`))
	badSchema, _ := encode(t, submission("BA-4", "bauantrag", "bauamt-erfurt", `{"parcel":17,"costs":-5}`))
	wrongType := cloudEvent(t, "de.amtsweg.something.v1", "BA-5", map[string]any{})
	malformed := kafka.Message{Key: []byte("BA-6"), Value: []byte(`{"specversion":"1.0","id":`)}

	w := kafkabus.NewWriter(brokers, intakeTopic)
	defer w.Close()
	if err := w.WriteMessages(ctx, valid, valid, valid, malformed, wrongType, noTenant, unknown, badSchema, reused, flaky); err != nil {
		t.Fatal(err)
	}
	// The last one through Submit, as `amtsweg submit` does.
	last, err := intake.Submit(ctx, w, submission("", "bauantrag", "bauamt-erfurt", `{"parcel":"Flur 2/2","costs":10}`), received)
	if err != nil {
		t.Fatal(err)
	}

	aw := kafkabus.NewWriter(brokers, applicantTopic)
	defer aw.Close()
	docs := "de.amtsweg.applicant.documents-submitted.v1"
	if err := aw.WriteMessages(ctx,
		cloudEvent(t, docs, "BA-1", json.RawMessage(`{"documents":["lageplan.pdf"]}`)),
		cloudEvent(t, docs, "BA-NOPE", json.RawMessage(`{}`)),
		kafka.Message{Key: []byte("BA-1"), Value: []byte("not json")},
	); err != nil {
		t.Fatal(err)
	}

	rctx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() {
		stopped <- intake.Run(rctx, intake.Config{Brokers: brokers, Store: s, Starter: starter, Signaler: signaler,
			IntakeTopic: intakeTopic, ApplicantTopic: applicantTopic, IntakeGroup: intakeTopic, ApplicantGroup: applicantTopic})
	}()
	waitFor(t, "the last submission to start", func() bool { return len(starter.startedOf(last.Reference)) == 1 })
	waitFor(t, "the applicant event", func() bool { return len(signaler.signals()) == 1 })

	// The valid application started once although delivered three times.
	got := starter.startedOf("BA-1")
	if len(got) != 1 {
		t.Fatalf("BA-1 started %d times, want 1", len(got))
	}
	req := got[0]
	if req.Tenant != "bauamt-erfurt" || req.DefinitionKey != "bauantrag" || req.DefinitionVersion != "1.0.0" ||
		req.DefinitionHash != def.Hash || !req.ReceivedAt.Equal(received) ||
		req.AccessCodeSHA256 != events.HashAccessCode(receipt.AccessCode) ||
		string(req.Payload) != `{"parcel":"Flur 3/17","costs":250000}` || string(req.Applicant) != `{"name":"Erika Mustermann"}` {
		t.Errorf("start request = %+v", req)
	}
	// The transiently failing start was retried, in order, until it worked.
	if n := len(starter.startedOf("BA-FLAKY")); n != 1 || starter.calls["BA-FLAKY"] != 3 {
		t.Errorf("BA-FLAKY: %d starts in %d calls, want 1 in 3", n, starter.calls["BA-FLAKY"])
	}
	for _, ref := range []string{"BA-2", "BA-3", "BA-4", "BA-5", "BA-6"} {
		if starter.calls[ref] != 0 {
			t.Errorf("%s reached the starter", ref)
		}
	}
	sub, err := s.Submission(ctx, "BA-1")
	if err != nil || sub.StartedAt == nil || sub.Version != "1.0.0" {
		t.Errorf("submission record = %+v, %v", sub, err)
	}

	wantReasons := []string{
		"not a CloudEvent",
		`type "de.amtsweg.something.v1" is not accepted`,
		"data.tenant is missing",
		`procedure "hundesteuer" is not deployed (deployed procedures: bauantrag, gewerbe)`,
		"does not match the application schema of bauantrag 1.0.0",
		"already used for a different application",
	}
	letters := deadLetters(t, brokers, intakeTopic, len(wantReasons))
	for _, l := range letters {
		t.Log(l.Reason)
	}
	for i, want := range wantReasons {
		if !strings.Contains(letters[i].Reason, want) {
			t.Errorf("dead letter %d: reason %q does not contain %q", i, letters[i].Reason, want)
		}
	}
	if !strings.Contains(letters[4].Reason, "/parcel") || !strings.Contains(letters[4].Reason, "/costs") {
		t.Errorf("schema reason does not name the fields: %s", letters[4].Reason)
	}
	if letters[1].Key != "BA-5" || letters[1].Topic != intakeTopic || string(letters[1].Value) != string(wrongType.Value) {
		t.Errorf("dead letter does not carry the original message: %+v", letters[1])
	}

	if sig := signaler.signals()[0]; sig.Reference != "BA-1" || sig.Type != docs || sig.ID != "id-BA-1-"+docs || sig.Data != `{"documents":["lageplan.pdf"]}` {
		t.Errorf("signal = %+v", sig)
	}
	aletters := deadLetters(t, brokers, applicantTopic, 2)
	if !strings.Contains(aletters[0].Reason, "no running procedure") || !strings.Contains(aletters[1].Reason, "not a CloudEvent") {
		t.Errorf("applicant dead letters: %q, %q", aletters[0].Reason, aletters[1].Reason)
	}

	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestAccessCodeAndReference(t *testing.T) {
	code := regexp.MustCompile(`^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`)
	seen := map[string]bool{}
	for range 1000 {
		c := intake.NewAccessCode()
		if !code.MatchString(c) {
			t.Fatalf("access code %q has the wrong form", c)
		}
		if seen[c] {
			t.Fatalf("access code %q drawn twice", c)
		}
		seen[c] = true
	}
	now := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, proc := range []string{"bauantrag", "Gewerbe-Anmeldung", "ü", strings.Repeat("x", 80)} {
		ref := intake.NewReference(proc, now)
		if err := events.ValidateReference(ref); err != nil {
			t.Errorf("NewReference(%q) = %q: %v", proc, ref, err)
		}
		if !strings.Contains(ref, "-2025-") {
			t.Errorf("NewReference(%q) = %q lacks the year", proc, ref)
		}
	}
	if ref := intake.NewReference("bauantrag", now); !strings.HasPrefix(ref, "BAUANTRAG-2025-") {
		t.Errorf("reference %q", ref)
	}
}

func TestSubmissionEncodeRejectsIncomplete(t *testing.T) {
	for name, s := range map[string]intake.Submission{
		"no tenant":     submission("X-1", "bauantrag", "", `{"a":1}`),
		"no procedure":  submission("X-1", "", "t", `{"a":1}`),
		"no payload":    {Procedure: "bauantrag", Tenant: "t"},
		"bad reference": submission("X 1", "bauantrag", "t", `{"a":1}`),
	} {
		if _, _, err := s.Encode(time.Now()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOversizedMessagesAreRefused is #21.5: a message over MaxEventBytes
// is refused before it is parsed (dead letter with the reason), its dead
// letter stays small, and Submit refuses to send one at all.
func TestOversizedMessagesAreRefused(t *testing.T) {
	s, _ := storetest.New(t)
	in, err := intake.New(intake.Config{Store: s, Starter: newStarter(), Signaler: &recordingSignaler{running: map[string]bool{}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	street := strings.Repeat("x", 300<<10)
	big := cloudEvent(t, events.TypeApplicationSubmitted, "BA-BIG", map[string]any{
		"procedure": "bauantrag", "tenant": "bauamt-erfurt", "accessCodeSha256": storetest.AccessHash,
		"payload": map[string]any{"street": street}})
	for name, handle := range map[string]func(context.Context, kafka.Message) error{
		"submission": in.HandleSubmission, "applicant event": in.HandleApplicantEvent,
	} {
		p, ok := kafkabus.IsPoison(handle(ctx, big))
		if !ok || !strings.Contains(p.Error(), "exceeds the intake's limit of 262144 bytes") {
			t.Errorf("%s of %d bytes: %v, want a dead letter naming the limit", name, len(big.Value), p)
		}
	}
	// Just below the limit is handled as usual (here: an unknown procedure).
	small := cloudEvent(t, events.TypeApplicationSubmitted, "BA-SMALL", map[string]any{
		"procedure": "bauantrag", "tenant": "bauamt-erfurt", "accessCodeSha256": storetest.AccessHash,
		"payload": map[string]any{"street": strings.Repeat("x", 200<<10)}})
	if p, ok := kafkabus.IsPoison(in.HandleSubmission(ctx, small)); !ok || strings.Contains(p.Error(), "limit") {
		t.Errorf("a message under the limit: %v", p)
	}

	dl, err := kafkabus.EncodeDeadLetter("urn:test", intake.GroupIntake, big, "too large", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) > 16<<10 {
		t.Errorf("the dead letter of an oversized message is %d bytes", len(dl))
	}
	got, err := kafkabus.DecodeDeadLetter(dl)
	if err != nil || !got.ValueOmitted || got.ValueSize != len(big.Value) || len(got.ValueSHA256) != 64 || len(got.Value) != 0 {
		t.Errorf("dead letter %+v, %v", got, err)
	}

	_, _, err = submission("BA-BIG", "bauantrag", "bauamt-erfurt", `{"street":"`+street+`"}`).Encode(time.Now())
	if !errors.Is(err, intake.ErrInvalidSubmission) || !strings.Contains(err.Error(), "over the intake's limit") {
		t.Errorf("Encode of an oversized submission: %v", err)
	}
}

// TestVersionsValidOnPinsTheVersionDay: by default a submission takes the
// version valid on its receipt day; an intake pinned with VersionsValidOn
// takes the version valid on that day instead, and keeps the receipt time.
func TestVersionsValidOnPinsTheVersionDay(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	key := "pinned-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, v := range []struct{ version, validFrom string }{{"1.0.0", "2020-01-01"}, {"2.0.0", "2030-01-01"}} {
		vf, _ := time.Parse(time.DateOnly, v.validFrom)
		if _, err := s.DeployDefinition(ctx, store.DefinitionRecord{
			Key: key, Version: v.version, Hash: "sha256-" + key + "-" + v.version, ValidFrom: vf,
			Title: events.LocalText{De: key}, Source: "key: " + key,
			Model: json.RawMessage(fmt.Sprintf(`{"key":%q,"version":%q,"applicationSchema":%s}`, key, v.version, applicationSchema)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	payload := `{"parcel":"Flur 1/1","costs":1}`
	for _, c := range []struct {
		name    string
		pin     time.Time
		ref     string
		version string
	}{
		{"receipt day 2025-03-03", time.Time{}, "PIN-1", "1.0.0"},
		{"pinned to 2030-06-01", time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC), "PIN-2", "2.0.0"},
		{"pinned to 2029-12-31", time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC), "PIN-3", "1.0.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			starter := newStarter()
			in, err := intake.New(intake.Config{Store: s, Starter: starter, VersionsValidOn: c.pin})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := encode(t, submission(c.ref+"-"+key, key, "bauamt-erfurt", payload))
			if err := in.HandleSubmission(ctx, m); err != nil {
				t.Fatal(err)
			}
			got := starter.startedOf(c.ref + "-" + key)
			if len(got) != 1 || got[0].DefinitionVersion != c.version || !got[0].ReceivedAt.Equal(received) {
				t.Fatalf("started %+v, want version %s received %s", got, c.version, received)
			}
		})
	}
	// A pinned day before every version: the dead letter says so.
	in, err := intake.New(intake.Config{Store: s, Starter: newStarter(), VersionsValidOn: time.Date(2019, 1, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := encode(t, submission("PIN-4-"+key, key, "bauamt-erfurt", payload))
	p, ok := kafkabus.IsPoison(in.HandleSubmission(ctx, m))
	if !ok || !strings.Contains(p.Error(), "valid on 2019-01-01 (the day this intake is pinned to choose versions on)") {
		t.Errorf("no version on the pinned day: %v", p)
	}
}
