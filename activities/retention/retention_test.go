package retention_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities/retention"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/datakeys"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/eventpub"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workers/projector"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

var record = flag.Bool("record", false, "write the retention workflow's history into workflows/testdata/histories for TestReplay")

// recordHistory writes the history of the retention run for the replay
// tests of package workflows (only with -record, and never over a recorded
// one).
func recordHistory(t *testing.T, c client.Client, id, runID string) {
	t.Helper()
	p := filepath.Join("..", "..", "workflows", "testdata", "histories", "retention-erased.json")
	if !*record {
		return
	}
	if _, err := os.Stat(p); err == nil {
		t.Logf("kept the recorded %s", p)
		return
	}
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d events)", p, len(h.Events))
}

// holding reports the tables of the database with a row whose JSON form
// contains s.
func holding(t *testing.T, url, s string) []string {
	t.Helper()
	tables := storetest.QueryStrings(t, url, `SELECT table_name::text FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
	var out []string
	for _, tb := range tables {
		n := storetest.QueryInts(t, url, `SELECT count(*) FROM "`+tb+`" x WHERE to_jsonb(x)::text LIKE '%' || $1 || '%'`, s)[0]
		if n > 0 {
			out = append(out, fmt.Sprintf("%s (%d rows)", tb, n))
		}
	}
	return out
}

// filesHolding lists the files under dir whose content contains s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if strings.Contains(string(b), s) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func lifecycle(ref, name, hash string) []*events.ProcedureEvent {
	evs := storetest.Lifecycle(ref)
	evs[0].Received.Applicant = json.RawMessage(fmt.Sprintf(`{"name": %q}`, name))
	evs[0].Received.DefinitionHash = hash
	return evs
}

// procedure stands in for a procedure's workflow (started under the
// procedure's workflow id): its history holds the applicant's data, as
// ProcedureWorkflow's input does.
func procedure(_ workflow.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }

// TestRetentionErasesEveryStore runs the retention workflow on Temporal
// with the real activities against PostgreSQL, an e-file directory and
// Temporal itself. Erika's application (one year's retention, ended
// 2025-01-07) is erased: afterwards no table, no e-file and no workflow
// history holds her name, and her audit chain still verifies. Hanna's
// (same period, under a legal hold) and Peter's (permanent retention) stay.
func TestRetentionErasesEveryStore(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	for hash, retention := range map[string]string{
		"sha256-limited":   `{"class": "Testakte", "years": 1, "basis": "test setting"}`,
		"sha256-permanent": `{"class": "Bauakte", "permanent": true, "basis": "test setting"}`,
	} {
		if _, err := st.DeployDefinition(ctx, store.DefinitionRecord{Key: strings.TrimPrefix(hash, "sha256-"), Version: "1.0.0",
			Hash: hash, ValidFrom: storetest.T0, Title: events.LocalText{De: "Test"}, Source: "key: test",
			Model: json.RawMessage(`{"key": "test", "retention": ` + retention + `}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// Lifecycle ends on 2025-01-07 (T0 = 2025-01-06 09:00 plus 23 hours);
	// one year later, 2026-01-07, is before today, so the limited ones are
	// due.
	const erika, hanna, peter = "BA-2025-0801", "BA-2025-0802", "BA-2025-0803"
	// The events travel as in production: sealed by the worker's
	// publisher on a procedure-events topic (this test's own), opened and
	// applied by the projector.
	keys, topic := sealedTopic(t, st)
	pub := &eventpub.Publisher{Writer: kafkabus.NewWriter(testenv.Kafka(t), ""), Keys: keys, EventsTopic: topic, StatusTopic: topic + ".status"}
	defer pub.Writer.Close()
	for _, evs := range [][]*events.ProcedureEvent{
		lifecycle(erika, "Erika Mustermann", "sha256-limited"),
		lifecycle(hanna, "Hanna Haltbar", "sha256-limited"),
		lifecycle(peter, "Peter Permanent", "sha256-permanent"),
	} {
		if err := pub.Publish(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	project(t, st, url, keys, topic, 3*len(storetest.Lifecycle(erika)))
	if _, err := st.AnchorAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.PlaceLegalHold(ctx, "bauamt-erfurt", hanna, "Klage VG Weimar 1 K 23/25", "olga"); err != nil {
		t.Fatal(err)
	}
	if err := st.PlaceLegalHold(ctx, "stadt-jena", peter, "wrong authority", "otto"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold by another authority: %v", err)
	}

	dir := t.TempDir()
	files, err := efile.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for ref, name := range map[string]string{erika: "Erika Mustermann", hanna: "Hanna Haltbar"} {
		if _, _, err := files.Put(ref, "antrag", efile.KindDocument, "Antrag.txt", "text/plain", []byte("Antrag von "+name)); err != nil {
			t.Fatal(err)
		}
	}

	hostPort, ns := testenv.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := fmt.Sprintf("retention-test-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(procedure, workflow.RegisterOptions{Name: "test.procedure"})
	w.RegisterWorkflowWithOptions(workflows.RetentionWorkflow, workflow.RegisterOptions{Name: workflows.RetentionWorkflowName})
	procworker.RegisterRetention(w, &retention.Activities{Store: st, EFile: files, Temporal: c, Namespace: ns})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ref, name := range map[string]string{erika: "Erika Mustermann", hanna: "Hanna Haltbar"} {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.WorkflowID(ref), TaskQueue: queue}, "test.procedure",
			json.RawMessage(fmt.Sprintf(`{"applicant": {"name": %q}}`, name)))
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "retention-" + queue, TaskQueue: queue},
		workflows.RetentionWorkflowName, workflows.RetentionInput{})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetentionResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Erased) != 1 || res.Erased[0] != erika || len(res.Failed) != 0 {
		t.Fatalf("retention run: %+v, want %s erased and nothing failed", res, erika)
	}
	recordHistory(t, c, run.GetID(), run.GetRunID())

	// PostgreSQL: no table holds her name; the others' stay.
	if where := holding(t, url, "Erika Mustermann"); len(where) > 0 {
		t.Errorf("after erasure the database holds the name in %v", where)
	}
	for _, name := range []string{"Hanna Haltbar", "Peter Permanent"} {
		if len(holding(t, url, name)) == 0 {
			t.Errorf("%s was erased too", name)
		}
	}
	// The audit chain still verifies, and still shows tampering.
	if rep, err := st.VerifyAuditChain(ctx, erika); err != nil || !rep.OK() || rep.Entries != 23 {
		t.Errorf("audit chain after erasure: %+v, %v", rep, err)
	}
	// The e-file is gone; Hanna's stays.
	if f := filesHolding(t, dir, "Erika Mustermann"); len(f) > 0 {
		t.Errorf("after erasure e-files hold the name: %v", f)
	}
	if len(filesHolding(t, dir, "Hanna Haltbar")) != 1 {
		t.Error("the held e-file was deleted")
	}
	// Temporal deletes the history asynchronously: the deletion task is
	// retried until the queue's ack level has passed the close task, which
	// the server updates about every half minute.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, err := c.DescribeWorkflowExecution(ctx, contract.WorkflowID(erika), "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workflow history of %s is still there: %v", erika, err)
		}
		time.Sleep(time.Second)
	}
	if _, err := c.DescribeWorkflowExecution(ctx, contract.WorkflowID(hanna), ""); err != nil {
		t.Errorf("the held application's history: %v", err)
	}

	// Kafka: the topic never held a name in clear, and after erasure
	// Erika's events cannot be opened even with the master key and the
	// database; Hanna's still can (so the bytes read are the right ones).
	raw := readTopic(t, topic)
	if len(raw) != 3*len(storetest.Lifecycle(erika)) {
		t.Fatalf("read %d messages from the topic, want %d", len(raw), 3*len(storetest.Lifecycle(erika)))
	}
	readable := map[string]int{}
	for _, m := range raw {
		for _, name := range []string{"Erika Mustermann", "Hanna Haltbar", "Peter Permanent"} {
			if strings.Contains(string(m), name) {
				t.Fatalf("the topic holds %q in clear: %s", name, m)
			}
		}
		_, sealed, err := events.DecodeProcedureEventMessage(m)
		if err != nil || sealed == nil {
			t.Fatalf("a message on the topic is not a sealed event: %v: %s", err, m)
		}
		k, err := keys.ForReading(ctx, []string{sealed.Reference})
		if err != nil {
			t.Fatal(err)
		}
		key := k[sealed.Reference]
		if sealed.Reference == erika {
			if !key.Destroyed || key.AEAD != nil {
				t.Errorf("after erasure the data key of %s is %+v, want it destroyed", erika, key)
			}
			continue
		}
		e, err := events.OpenProcedureEvent(sealed, key.AEAD)
		if err != nil {
			t.Fatalf("%s/%d does not open: %v", sealed.Reference, sealed.Seq, err)
		}
		if e.Received != nil {
			readable[string(e.Received.Applicant)]++
		}
	}
	if len(readable) != 2 || readable[`{"name":"Hanna Haltbar"}`] != 1 || readable[`{"name":"Peter Permanent"}`] != 1 {
		t.Errorf("received events readable after erasure: %v, want Hanna's and Peter's only", readable)
	}
	// The erased reference gets no new key: nothing can be published
	// for it again.
	if err := pub.Publish(ctx, lifecycle(erika, "Erika Mustermann", "sha256-limited")[:1]); !errors.Is(err, store.ErrKeyDestroyed) {
		t.Errorf("publishing for an erased application: %v, want %v", err, store.ErrKeyDestroyed)
	}

	// Redelivered or replayed events (a projection rebuild) do not bring
	// the data back.
	if n, err := st.ApplyEvents(ctx, lifecycle(erika, "Erika Mustermann", "sha256-limited")); err != nil || n != 0 {
		t.Errorf("redelivery after erasure applied %d, %v", n, err)
	}
	if where := holding(t, url, "Erika Mustermann"); len(where) > 0 {
		t.Errorf("after redelivery the database holds the name in %v", where)
	}

	// The hold is checked where the data is erased too.
	if err := st.EraseApplication(ctx, "bauamt-erfurt", hanna, "Testakte", "olga"); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("erasing a held application: %v", err)
	}
	if err := st.ReleaseLegalHold(ctx, "bauamt-erfurt", hanna, "Klage zurückgenommen", "olga"); err != nil {
		t.Fatal(err)
	}
	if err := st.EraseApplication(ctx, "bauamt-erfurt", hanna, "Testakte", "olga"); err != nil {
		t.Errorf("erasing after the hold was released: %v", err)
	}
	if where := holding(t, url, "Hanna Haltbar"); len(where) > 0 {
		t.Errorf("after erasure the database holds Hanna's name in %v", where)
	}

	// A rebuild of the projections from the topic skips the shredded
	// events of the erased applications and brings back the others.
	if err := projector.Rebuild(ctx, projector.Config{Brokers: testenv.Kafka(t), Store: st, Keys: keys, Topic: topic}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Erika Mustermann", "Hanna Haltbar"} {
		if where := holding(t, url, name); len(where) > 0 {
			t.Errorf("after the rebuild the database holds %s in %v", name, where)
		}
	}
	if len(holding(t, url, "Peter Permanent")) == 0 {
		t.Error("the rebuild did not bring back the kept application")
	}
}

// sealedTopic returns a keyring under a fresh master key over st and a
// procedure-events topic of this test alone (the broker is shared).
func sealedTopic(t *testing.T, st *store.Store) (*datakeys.Keyring, string) {
	t.Helper()
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	keys, err := datakeys.New(st, master)
	if err != nil {
		t.Fatal(err)
	}
	topic := fmt.Sprintf("test.retention.%d", time.Now().UnixNano())
	if err := kafkabus.EnsureTopics(context.Background(), testenv.Kafka(t),
		kafkabus.TopicSpec{Name: topic, Partitions: 2}, kafkabus.TopicSpec{Name: topic + ".status", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	return keys, topic
}

// project runs the projector on topic until the audit trail holds n
// entries.
func project(t *testing.T, st *store.Store, url string, keys *datakeys.Keyring, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- projector.Run(ctx, projector.Config{Brokers: testenv.Kafka(t), Store: st, Keys: keys, Topic: topic, GroupID: topic})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for storetest.QueryInts(t, url, `SELECT count(*) FROM procedure_events`)[0] < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("the projector did not apply %d events within a minute", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readTopic returns the raw bytes of every message on topic.
func readTopic(t *testing.T, topic string) [][]byte {
	t.Helper()
	ctx := context.Background()
	brokers := testenv.Kafka(t)
	ranges, err := kafkabus.Offsets(ctx, brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for p, r := range ranges {
		if r.End <= r.First {
			continue
		}
		rd := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p})
		if err := rd.SetOffset(r.First); err != nil {
			t.Fatal(err)
		}
		for off := r.First; off < r.End; off++ {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := rd.ReadMessage(rctx)
			cancel()
			if err != nil {
				t.Fatalf("read %s partition %d offset %d: %v", topic, p, off, err)
			}
			out = append(out, m.Value)
		}
		_ = rd.Close()
	}
	return out
}
