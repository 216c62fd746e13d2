package cluster_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/internal/cluster"
)

// TestClusterStartsEveryPart: the one command's cluster has its engines
// and two ready replicas of every process, each on its own ports.
func TestClusterStartsEveryPart(t *testing.T) {
	c := startCluster(t)
	dumpOnFailure(t, c)
	if n := len(c.KafkaBrokers()); n != 3 {
		t.Errorf("%d Kafka brokers, want 3", n)
	}
	seen := map[string]string{}
	for _, role := range []string{cluster.RoleWorker, cluster.RoleIntake, cluster.RoleProjector, cluster.RoleAPI} {
		ps := c.Processes(role)
		if len(ps) < 2 {
			t.Errorf("%d %s processes, want 2 or more", len(ps), role)
		}
		for _, p := range ps {
			if other, dup := seen[p.OpsURL()]; dup {
				t.Errorf("%s and %s share the ops address %s", p.Name(), other, p.OpsURL())
			}
			seen[p.OpsURL()] = p.Name()
			resp, err := http.Get(p.OpsURL() + "/readyz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("%s /readyz: %v %v", p.Name(), resp, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}
	temporalDBs := queryInt(t, c, `SELECT count(*) FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility')`)
	if temporalDBs != 2 {
		t.Errorf("%d of Temporal's databases on the cluster's PostgreSQL, want 2 (temporal, temporal_visibility)", temporalDBs)
	}
}

// TestAPIBehindTwoProcesses: a clerk claims a task on one API process and
// completes it on the other; a second clerk's conflicting claim is refused
// on either; the task completes once.
func TestAPIBehindTwoProcesses(t *testing.T) {
	c := startCluster(t)
	dumpOnFailure(t, c)
	apis := c.APIURLs()
	anna, err := c.MintToken("anna", "stadt-erfurt", "sachbearbeitung")
	if err != nil {
		t.Fatal(err)
	}
	bert, err := c.MintToken("bert", "stadt-erfurt", "sachbearbeitung")
	if err != nil {
		t.Fatal(err)
	}
	ref := submit(t, c, 1)[0]
	tk := openTask(t, apis[0], anna, ref)
	path := "/api/v1/tasks/" + tk.ID
	if code, body := call(t, apis[0], anna, http.MethodPost, path+"/claim", ""); code != http.StatusOK {
		t.Fatalf("anna claims on %s: %d %s", apis[0], code, body)
	}
	for _, api := range apis {
		if code, body := call(t, api, bert, http.MethodPost, path+"/claim", ""); code != http.StatusConflict {
			t.Errorf("bert claims the task anna holds on %s: %d %s, want 409", api, code, body)
		}
		if code, body := call(t, api, bert, http.MethodPost, path+"/complete", `{"data":{"approved":true}}`); code != http.StatusConflict {
			t.Errorf("bert completes the task anna holds on %s: %d %s, want 409", api, code, body)
		}
	}
	if code, body := call(t, apis[1], anna, http.MethodPost, path+"/complete", `{"data":{"approved":true}}`); code != http.StatusOK {
		t.Fatalf("anna completes on %s: %d %s", apis[1], code, body)
	}
	if code, body := call(t, apis[0], anna, http.MethodPost, path+"/complete", `{"data":{"approved":false}}`); code == http.StatusOK {
		t.Errorf("anna completes the completed task again on %s: %d %s", apis[0], code, body)
	}
	awaitMilestone(t, c, []string{ref}, "decided", 60*time.Second)
	if n := queryInt(t, c, `SELECT count(*) FROM procedure_events WHERE reference = $1 AND kind = 'task-completed'`, ref); n != 1 {
		t.Errorf("%d task-completed events of %s, want 1", n, ref)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM procedure_events WHERE reference = $1 AND kind = 'completed'`, ref); n != 1 {
		t.Errorf("%d completed events of %s, want 1", n, ref)
	}
}

// TestEventOrderUnderRebalance: the events of one application keep their
// order while the projectors' consumer group rebalances (a third projector
// joins mid-stream, then one is killed). Every event topic is keyed by the
// application's reference (internal/eventpub), so all events of an
// application are in one partition, read by one group member at a time.
// The projector gives each applied event the next position in its
// application's audit chain: positions in seq order prove the order.
func TestEventOrderUnderRebalance(t *testing.T) {
	c := startCluster(t)
	dumpOnFailure(t, c)
	const n = 24
	var refs []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range n / 4 {
			r := submit(t, c, 4)
			mu.Lock()
			refs = append(refs, r...)
			mu.Unlock()
			time.Sleep(300 * time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	extra, err := c.StartProcess(context.Background(), cluster.RoleProjector)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Processes(cluster.RoleProjector)[0].Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	awaitMilestone(t, c, refs, "in-review", 120*time.Second)
	// Put the cluster back in shape for the tests after this one.
	if err := c.Processes(cluster.RoleProjector)[0].Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := extra.Stop(); err != nil {
		t.Error(err)
	}

	if got := queryInt(t, c, `SELECT count(*) FROM applications WHERE reference = ANY($1)`, refs); got != n {
		t.Errorf("%d applications projected, want %d", got, n)
	}
	inversions := queryInt(t, c, `
		SELECT count(*) FROM procedure_events a JOIN procedure_events b
		  ON a.reference = b.reference AND a.seq < b.seq
		 WHERE a.reference = ANY($1) AND a.position > b.position`, refs)
	if inversions != 0 {
		t.Errorf("%d pairs of events applied out of their order", inversions)
	}
	// Every application's events up to the review, each once, seq 1..k.
	gaps := queryInt(t, c, `
		SELECT count(*) FROM (SELECT reference, max(seq) AS m, count(*) AS k FROM procedure_events
		 WHERE reference = ANY($1) GROUP BY reference) x WHERE m <> k`, refs)
	if gaps != 0 {
		t.Errorf("%d applications with missing events", gaps)
	}
}

// TestBrokerStopAndRestart: a Kafka broker is stopped and started again
// (its partitions get new leaders twice) while applications are
// submitted: every application is started once and projected once.
func TestBrokerStopAndRestart(t *testing.T) {
	c := startCluster(t)
	dumpOnFailure(t, c)
	ctx := context.Background()
	const rounds, per = 5, 6
	var refs []string
	for i := range rounds {
		switch i {
		case 1:
			if err := c.StopBroker(ctx, 1); err != nil {
				t.Fatal(err)
			}
		case 3:
			if err := c.StartBroker(ctx, 1); err != nil {
				t.Fatal(err)
			}
		case 4:
			if err := c.ShuffleLeaders(ctx); err != nil {
				t.Fatal(err)
			}
		}
		refs = append(refs, submit(t, c, per)...)
		time.Sleep(time.Second)
	}
	awaitMilestone(t, c, refs, "in-review", 120*time.Second)
	if got := queryInt(t, c, `SELECT count(*) FROM applications WHERE reference = ANY($1)`, refs); got != rounds*per {
		t.Errorf("%d applications projected, want %d", got, rounds*per)
	}
	if got := queryInt(t, c, `SELECT count(*) FROM procedure_events WHERE reference = ANY($1) AND kind = 'received'`, refs); got != rounds*per {
		t.Errorf("%d received events, want %d", got, rounds*per)
	}
	tc := temporalClient(t, c)
	for _, ref := range refs {
		if runs := workflowRuns(t, tc, ref); runs != 1 {
			t.Errorf("%s: %d workflow runs, want 1", ref, runs)
		}
	}
}

// sleeper is a workflow whose only work is a timer of d.
func sleeper(ctx workflow.Context, d time.Duration) error {
	return workflow.Sleep(ctx, d)
}

const timerQueue = "cluster-test-timer"

// TestTemporalServerRestart: the Temporal server process is killed
// (SIGKILL) and started again. Procedures waiting for a clerk and
// applications submitted while it was down complete afterwards, and a
// timer set before the restart fires after it. Procedure deadlines are
// whole days (definitions/calendar), so the timer is a test workflow's
// on the same server and namespace.
func TestTemporalServerRestart(t *testing.T) {
	c := startCluster(t)
	dumpOnFailure(t, c)
	ctx := context.Background()
	apis := c.APIURLs()
	anna, err := c.MintToken("anna", "stadt-erfurt", "sachbearbeitung")
	if err != nil {
		t.Fatal(err)
	}
	before := submit(t, c, 3)
	awaitMilestone(t, c, before, "in-review", 90*time.Second)

	tc := temporalClient(t, c)
	w := sdkworker.New(tc, timerQueue, sdkworker.Options{})
	w.RegisterWorkflow(sleeper)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := tc.ExecuteWorkflow(ctx, sdkclient.StartWorkflowOptions{TaskQueue: timerQueue}, sleeper, 25*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the timer is recorded.
	deadline := time.Now().Add(30 * time.Second)
	for !hasEvent(t, tc, run, enums.EVENT_TYPE_TIMER_STARTED) {
		if time.Now().After(deadline) {
			t.Fatal("the timer was never started")
		}
		time.Sleep(200 * time.Millisecond)
	}

	tp := c.Processes(cluster.RoleTemporal)[0]
	if err := tp.Kill(); err != nil {
		t.Fatal(err)
	}
	during := submit(t, c, 3)
	time.Sleep(2 * time.Second)
	restarted := time.Now()
	if err := tp.Restart(ctx); err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := run.Get(wctx, nil); err != nil {
		t.Fatalf("the timer workflow after the restart: %v", err)
	}
	fired := eventTime(t, tc, run, enums.EVENT_TYPE_TIMER_FIRED)
	if !fired.After(restarted) {
		t.Errorf("the timer fired at %s, not after the restart at %s", fired, restarted)
	}

	all := append(append([]string(nil), before...), during...)
	awaitMilestone(t, c, during, "in-review", 120*time.Second)
	for i, ref := range all {
		decide(t, apis[i%2], apis[(i+1)%2], anna, ref)
	}
	awaitMilestone(t, c, all, "decided", 120*time.Second)
	if got := queryInt(t, c, `SELECT count(*) FROM procedure_events WHERE reference = ANY($1) AND kind = 'completed'`, all); got != len(all) {
		t.Errorf("%d procedures completed, want %d", got, len(all))
	}
	for _, ref := range all {
		if runs := workflowRuns(t, tc, ref); runs != 1 {
			t.Errorf("%s: %d workflow runs, want 1", ref, runs)
		}
	}
}

func hasEvent(t *testing.T, tc sdkclient.Client, run sdkclient.WorkflowRun, typ enums.EventType) bool {
	t.Helper()
	it := tc.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false
		}
		if e.EventType == typ {
			return true
		}
	}
	return false
}

func eventTime(t *testing.T, tc sdkclient.Client, run sdkclient.WorkflowRun, typ enums.EventType) time.Time {
	t.Helper()
	it := tc.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.EventType == typ {
			return e.EventTime.AsTime()
		}
	}
	t.Fatalf("no %s event in the history", typ)
	return time.Time{}
}
