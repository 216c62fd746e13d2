package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// TestMain lets the test binary serve as the multi-call amtsweg binary:
// the plugin host starts bundled plugins as "<binary> plugin serve <name>",
// real separate processes, exactly as amtsweg dev does.
func TestMain(m *testing.M) { e2e.Main(m) }

type statusDoc struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
	Milestone *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"milestone"`
	Timeline []struct {
		Text string `json:"text"`
	} `json:"timeline"`
	Outcome *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"outcome"`
}

func getStatus(t *testing.T, base, ref, code, lang string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/status/"+ref, nil)
	req.Header.Set("X-Access-Code", code)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// waitStatus polls the citizen's status until ok accepts it.
func waitStatus(t *testing.T, base, ref, code string, ok func(statusDoc) bool) statusDoc {
	t.Helper()
	e2e.AwaitProjected(t, base, ref)
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		code, body := getStatus(t, base, ref, code, "")
		last = fmt.Sprintf("%d %s", code, body)
		if code == http.StatusOK {
			var s statusDoc
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatalf("status JSON: %v: %s", err, body)
			}
			if ok(s) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("status of %s never reached the expected state; last answer: %s", ref, last)
	return statusDoc{}
}

func decide(t *testing.T, d *devstack.Dev, ref string, approved bool) {
	t.Helper()
	task := e2e.OpenTask(t, d, ref)
	pc, err := d.Stack.Procedures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clerk := contract.Actor{Subject: "c.clerk", Tenant: "stadt-erfurt", Roles: []string{"sachbearbeitung"}}
	ctx := context.Background()
	if _, err := pc.Claim(ctx, ref, contract.TaskRequest{TaskID: task.ID, Actor: clerk}); err != nil {
		t.Fatalf("claim: %v", err)
	}
	data := fmt.Sprintf(`{"approved": %t}`, approved)
	if _, err := pc.Complete(ctx, ref, contract.CompleteRequest{TaskID: task.ID, Actor: clerk, Data: json.RawMessage(data)}); err != nil {
		t.Fatalf("complete: %v", err)
	}
}

// TestWalkingSkeleton drives an application from the portal's Kafka message
// to the citizen's status through the real Temporal server, the Kafka
// protocol and PostgreSQL, then restarts everything on the same data dir.
func TestWalkingSkeleton(t *testing.T) {
	dir := e2e.DataDir(t)
	d := e2e.Start(t, dir)
	stopped := false
	defer func() {
		if !stopped {
			d.Stop()
		}
	}()

	first := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken.json"))
	second := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken.json"))

	// The status appears within seconds, with the clerk's task pending.
	st := waitStatus(t, d.APIURL, first.Reference, first.AccessCode, func(s statusDoc) bool {
		return s.Milestone != nil && s.Milestone.ID == "in-review"
	})
	if st.Milestone.Title != "In Bearbeitung" {
		t.Errorf("German milestone title %q", st.Milestone.Title)
	}
	if _, body := getStatus(t, d.APIURL, first.Reference, first.AccessCode, "en"); !strings.Contains(string(body), "In review") {
		t.Errorf("English status lacks the English milestone: %s", body)
	}

	// A wrong code and an unknown reference get the same 404.
	c1, b1 := getStatus(t, d.APIURL, first.Reference, "WRNG-CODE-XXXX", "")
	c2, b2 := getStatus(t, d.APIURL, "NOPE-2026-UNKNOWN", first.AccessCode, "")
	if c1 != http.StatusNotFound || c2 != http.StatusNotFound || string(b1) != string(b2) {
		t.Errorf("wrong code: %d %s; unknown reference: %d %s", c1, b1, c2, b2)
	}

	// A malformed message goes to the dead-letter topic with the reason,
	// and the intake goes on with the next message.
	w := kafkabus.NewWriter(d.Brokers, events.TopicIntake)
	if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte("broken"), Value: []byte(`{"not": "a cloudevent"`)}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	dl := readDeadLetter(t, d.Brokers, events.DLQ(events.TopicIntake))
	if !strings.Contains(dl.Reason, "CloudEvent") {
		t.Errorf("dead letter reason %q does not say what was wrong", dl.Reason)
	}
	third := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken.json"))
	waitStatus(t, d.APIURL, third.Reference, third.AccessCode, func(s statusDoc) bool { return s.Milestone != nil })

	// The clerk approves the first application: the citizen sees the outcome.
	decide(t, d, first.Reference, true)
	st = waitStatus(t, d.APIURL, first.Reference, first.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "issued" || st.Milestone.ID != "decided" {
		t.Errorf("after approval: outcome %+v, milestone %+v", st.Outcome, st.Milestone)
	}

	// Restart on the same data dir: the second application is still there,
	// its procedure still waits for the clerk, and it can be finished.
	waitStatus(t, d.APIURL, second.Reference, second.AccessCode, func(s statusDoc) bool {
		return s.Milestone != nil && s.Milestone.ID == "in-review"
	})
	d.Stop()
	stopped = true
	d = e2e.Start(t, dir)
	stopped = false
	st = waitStatus(t, d.APIURL, first.Reference, first.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "issued" {
		t.Errorf("after restart the first application's outcome is %+v", st.Outcome)
	}
	decide(t, d, second.Reference, false)
	st = waitStatus(t, d.APIURL, second.Reference, second.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "refused" {
		t.Errorf("second application after restart: outcome %+v", st.Outcome)
	}
}

func readDeadLetter(t *testing.T, brokers []string, topic string) kafkabus.DeadLetter {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatalf("no dead letter on %s: %v", topic, err)
	}
	dl, err := kafkabus.DecodeDeadLetter(m.Value)
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	return dl
}
