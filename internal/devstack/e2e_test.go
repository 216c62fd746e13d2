package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// TestMain lets the test binary serve as the multi-call amtsweg binary:
// the plugin host starts bundled plugins as "<binary> plugin serve <name>",
// real separate processes, exactly as amtsweg dev does.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if err := bundled.Serve(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dataDir is a data directory the postgres user can reach when the tests
// run as root (t.TempDir is 0700 below root's temp dir).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "amtsweg-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func start(t *testing.T, dir string) *devstack.Dev {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := devstack.Start(ctx, devstack.Options{
		DataDir:     dir,
		DatabaseURL: "", // a private cluster in the data dir, like amtsweg dev
		APIAddr:     "127.0.0.1:0",
		KafkaAddr:   "127.0.0.1:0",
		Executable:  exe,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	return d
}

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

func submit(t *testing.T, brokers []string, file string) intake.Receipt {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sub intake.Submission
	if err := json.Unmarshal(raw, &sub); err != nil {
		t.Fatal(err)
	}
	w := kafkabus.NewWriter(brokers, events.TopicIntake)
	defer w.Close()
	rc, err := intake.Submit(context.Background(), w, sub, time.Now())
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return rc
}

// openTask waits until the application's workflow has an open task.
func openTask(t *testing.T, d *devstack.Dev, ref string) contract.TaskView {
	t.Helper()
	c, err := d.Stack.Temporal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		v, err := c.QueryWorkflow(context.Background(), contract.WorkflowID(ref), "", contract.QueryState)
		if err == nil {
			var st contract.StateView
			if err := v.Get(&st); err == nil {
				for _, tk := range st.Tasks {
					if tk.Status == contract.TaskOpen {
						return tk
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no open task for %s", ref)
	return contract.TaskView{}
}

func decide(t *testing.T, d *devstack.Dev, ref string, approved bool) {
	t.Helper()
	task := openTask(t, d, ref)
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
	dir := dataDir(t)
	d := start(t, dir)
	stopped := false
	defer func() {
		if !stopped {
			d.Stop()
		}
	}()

	first := submit(t, d.Brokers, "../../examples/anwohnerparken.json")
	second := submit(t, d.Brokers, "../../examples/anwohnerparken.json")

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
	third := submit(t, d.Brokers, "../../examples/anwohnerparken.json")
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
	d = start(t, dir)
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
