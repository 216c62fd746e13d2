package testenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	kafkago "github.com/segmentio/kafka-go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPostgresGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("first", func(t *testing.T) {
		first = testenv.Postgres(t)
		second := testenv.Postgres(t)
		if first == second {
			t.Fatalf("two calls gave the same database %s", first)
		}
		for _, u := range []string{first, second} {
			conn, err := pgx.Connect(ctx, u)
			if err != nil {
				t.Fatalf("connect %s: %v", u, err)
			}
			var tables int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("%s is not empty: %d tables", u, tables)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
				t.Fatal(err)
			}
			// Left open on purpose: the drop at cleanup must end it.
		}
	})

	// After the subtest the databases are gone.
	admin := testenv.Postgres(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := first[strings.LastIndex(first, "/")+1 : strings.Index(first, "?")]
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestKafkaIsShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	brokers := testenv.Kafka(t)
	if again := testenv.Kafka(t); strings.Join(again, ",") != strings.Join(brokers, ",") {
		t.Fatalf("second call gave other brokers: %v vs %v", again, brokers)
	}
	topic := "testenv." + strings.ToLower(t.Name())
	if err := kafkabus.EnsureTopics(ctx, brokers, kafkabus.TopicSpec{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("k"), Value: []byte("hallo")}); err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, GroupID: topic, Topic: topic, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "hallo" {
		t.Fatalf("got %q", m.Value)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatal(err)
	}
}

func Greet(ctx workflow.Context) (string, error) {
	name := ""
	if err := workflow.SetUpdateHandler(ctx, "name", func(ctx workflow.Context, n string) (string, error) {
		name = n
		return "ok " + n, nil
	}); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return name != "" }); err != nil {
		return "", err
	}
	return "Guten Tag, " + name, nil
}

func TestTemporalRunsWorkflows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hostPort, namespace := testenv.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "testenv-" + t.Name()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(Greet)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue, EnableEagerStart: true}, Greet)
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateName: "name", Args: []any{"Frau Müller"},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	var ack, result string
	if err := h.Get(ctx, &ack); err != nil || ack != "ok Frau Müller" {
		t.Fatalf("update result %q, %v", ack, err)
	}
	if err := run.Get(ctx, &result); err != nil || result != "Guten Tag, Frau Müller" {
		t.Fatalf("workflow result %q, %v", result, err)
	}

	// Update-with-Start: start a workflow and update it in one call.
	start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: queue + "-uws", TaskQueue: queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, Greet)
	h, err = c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: "name", Args: []any{"Herr Öztürk"},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		t.Fatalf("update-with-start: %v", err)
	}
	if err := h.Get(ctx, &ack); err != nil || ack != "ok Herr Öztürk" {
		t.Fatalf("update-with-start result %q, %v", ack, err)
	}
	run2, err := start.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.GetWorkflow(ctx, run2.GetID(), run2.GetRunID()).Get(ctx, &result); err != nil || result != "Guten Tag, Herr Öztürk" {
		t.Fatalf("update-with-start workflow result %q, %v", result, err)
	}
}
