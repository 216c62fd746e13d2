package temporal_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/internal/embedded/internal/freeport"
	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
)

const taskQueue = "embedded-temporal-test"

// CounterWorkflow adds the numbers it receives through the "add" Update
// until the total reaches target.
func CounterWorkflow(ctx workflow.Context, target int) (int, error) {
	total := 0
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add",
		func(ctx workflow.Context, n int) (int, error) {
			total += n
			return total, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, n int) error {
			if n <= 0 {
				return fmt.Errorf("add %d: only positive numbers", n)
			}
			return nil
		}},
	)
	if err != nil {
		return 0, err
	}
	if err := workflow.Await(ctx, func() bool { return total >= target }); err != nil {
		return 0, err
	}
	return total, nil
}

// recorder is an slog.Handler that keeps every record it gets.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) below(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.records {
		if rec.Level < level {
			out = append(out, rec.Level.String()+" "+rec.Message)
		}
	}
	return out
}

// startWorker starts a client and worker; the returned function stops both
// (also run at cleanup).
func startWorker(t *testing.T, hostPort, namespace string) (client.Client, func()) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace})
	if err != nil {
		t.Fatalf("dial %s: %v", hostPort, err)
	}
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(CounterWorkflow)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			w.Stop()
			c.Close()
		})
	}
	t.Cleanup(stop)
	return c, stop
}

func add(ctx context.Context, c client.Client, workflowID string, n int) (int, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   "add",
		Args:         []any{n},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return 0, err
	}
	var total int
	err = h.Get(ctx, &total)
	return total, err
}

// TestWorkflowSurvivesRestart runs a workflow with Updates on a server with
// a data dir, stops the server while the workflow waits, starts it again on
// the same data dir and finishes the workflow there.
func TestWorkflowSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	rec := &recorder{}
	uiPort, err := freeport.Get("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}

	srv, err := temporal.Start(ctx, temporal.Options{DataDir: dir, UIPort: uiPort, Logger: slog.New(rec)})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()

	// A second server on the same data dir must be refused, not corrupt it.
	if _, err := temporal.Start(ctx, temporal.Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second start on the same data dir: got %v, want an 'in use' error", err)
	}

	// WAL journal mode leaves a -wal file beside the database.
	if _, err := os.Stat(filepath.Join(dir, temporal.DBFileName+"-wal")); err != nil {
		t.Errorf("database is not in WAL mode: %v", err)
	}

	// The Web UI answers.
	resp, err := http.Get(srv.UIURL())
	if err != nil {
		t.Fatalf("web UI %s: %v", srv.UIURL(), err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("web UI %s: status %d, body %.200q", srv.UIURL(), resp.StatusCode, body)
	}

	c, stopWorker := startWorker(t, srv.HostPort(), temporal.DefaultNamespace)
	const workflowID = "counter-1"
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: taskQueue}, CounterWorkflow, 5); err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	if total, err := add(ctx, c, workflowID, 2); err != nil || total != 2 {
		t.Fatalf("update add 2: total %d, err %v; want 2, nil", total, err)
	}
	if _, err := add(ctx, c, workflowID, -1); err == nil || !strings.Contains(err.Error(), "only positive numbers") {
		t.Fatalf("update add -1: got %v, want the validator's rejection", err)
	}

	stopWorker()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true

	srv2, err := temporal.Start(ctx, temporal.Options{DataDir: dir, Logger: slog.New(rec)})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer srv2.Stop()
	c2, _ := startWorker(t, srv2.HostPort(), temporal.DefaultNamespace)

	desc, err := c2.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		t.Fatalf("workflow lost across restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow status after restart: %v, want running", st)
	}
	if total, err := add(ctx, c2, workflowID, 3); err != nil || total != 5 {
		t.Fatalf("update add 3 after restart: total %d, err %v; want 5, nil", total, err)
	}
	var result int
	if err := c2.GetWorkflow(ctx, workflowID, "").Get(ctx, &result); err != nil || result != 5 {
		t.Fatalf("workflow result: %d, %v; want 5", result, err)
	}

	// The server's own logs reach the logger only from Warn up.
	if chatty := rec.below(slog.LevelWarn); len(chatty) > 0 {
		t.Errorf("%d server log records below Warn, e.g. %q", len(chatty), chatty[0])
	}
}

func TestStartRejectsBusyPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for _, opts := range []temporal.Options{{Port: port}, {UIPort: port}} {
		if _, err := temporal.Start(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "cannot listen") {
			t.Errorf("start with port %d in use (%+v): got %v, want 'cannot listen'", port, opts, err)
		}
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	_, err := temporal.Start(context.Background(), temporal.Options{IP: "example.org"})
	if err == nil || !strings.Contains(err.Error(), "not an IP address") {
		t.Fatalf("got %v, want a 'not an IP address' error", err)
	}
}

// TestVisibilityOfItsOwn: with OwnVisibilityFile a new data directory
// keeps visibility in a file of its own; with the unused indexes dropped
// lists still answer, also when filtered by an attribute whose index was
// dropped (TaskQueue);
// by default the workflow database holds it.
func TestVisibilityOfItsOwn(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			dir := t.TempDir()
			srv, err := temporal.Start(ctx, temporal.Options{DataDir: dir, OwnVisibilityFile: !shared})
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer srv.Stop()
			_, err = os.Stat(filepath.Join(dir, temporal.VisibilityFileName))
			if own := err == nil; own == shared {
				t.Errorf("%s exists: %v, want %v", temporal.VisibilityFileName, own, !shared)
			}
			c, stopWorker := startWorker(t, srv.HostPort(), temporal.DefaultNamespace)
			defer stopWorker()
			const workflowID = "listed-1"
			if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: taskQueue}, CounterWorkflow, 1); err != nil {
				t.Fatalf("start workflow: %v", err)
			}
			for _, q := range []string{
				"WorkflowType = 'CounterWorkflow' AND ExecutionStatus = 'Running'",
				"TaskQueue = '" + taskQueue + "'",
			} {
				for {
					resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
					if err != nil {
						t.Fatalf("list %q: %v", q, err)
					}
					if len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == workflowID {
						break
					}
					select {
					case <-ctx.Done():
						t.Fatalf("list %q never showed %s: %v", q, workflowID, resp.GetExecutions())
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
		})
	}
}
