package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	enumspb "go.temporal.io/api/enums/v1"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Systems compared by measurements 1 to 3.
const (
	SystemAmtsweg  = "amtsweg"
	SystemTemporal = "temporal-baseline"
	SystemDBOS     = "dbos-baseline"
)

// Submission modes.
const (
	ModeRate = "rate" // a fixed rate of submissions
	ModeMax  = "max"  // everything at once, drained as fast as possible
)

// benchTenant is the authority of the measured applications; benchRole the
// clerks' role.
const (
	benchTenant = "bench-amt"
	benchRole   = "sachbearbeitung"
)

// ProcedureRun is one run of N applications through one system.
type ProcedureRun struct {
	System string `json:"system"`
	Mode   string `json:"mode"`
	// Rate is the offered rate in applications/s (mode rate).
	Rate      float64 `json:"rate,omitempty"`
	N         int     `json:"n"`
	Completed int     `json:"completed"`
	// Seconds runs from the first submission to the last final status.
	Seconds float64 `json:"seconds"`
	// Throughput is Completed/Seconds in applications/s.
	Throughput float64 `json:"throughput"`
	// SubmitToStarted: submission (handed to Kafka, or the start call) to
	// the workflow's start as the engine recorded it.
	SubmitToStarted Latency `json:"submitToStarted"`
	// TaskClaim and TaskComplete are the clerk's round trips (HTTP for
	// Amtsweg, the Update or message for the baselines, which have no
	// claim).
	TaskClaim    Latency `json:"taskClaim"`
	TaskComplete Latency `json:"taskComplete"`
	// ProjectionLag: a domain event's time to its row in PostgreSQL
	// (applied_at of the audit log: the start of the projector's
	// transaction). ProjectionLagCommitted*: the projector's own histogram
	// up to the commit, as bucket upper bounds (5, 10, 20, 40, 80, 160 ms
	// ...), for the events of all applications applied during the run.
	ProjectionLag             Latency `json:"projectionLag"`
	ProjectionLagCommittedP50 float64 `json:"projectionLagCommittedP50Ms,omitempty"`
	ProjectionLagCommittedP99 float64 `json:"projectionLagCommittedP99Ms,omitempty"`
	// SubmitToDone: submission to the final status (projected, for
	// Amtsweg; the workflow closed, for the baselines).
	SubmitToDone Latency `json:"submitToDone"`
	Load         string  `json:"load"`
	// HistoryEvents and WorkflowTasks count the Temporal history of one
	// finished workflow of the run (continued-as-new runs not followed):
	// the server's work per application.
	HistoryEvents int `json:"historyEvents,omitempty"`
	WorkflowTasks int `json:"workflowTasks,omitempty"`
	// CPUSeconds is the CPU time the system under test used during the
	// run (CPU.System(): the suite's process, its plugin children and
	// PostgreSQL), where measured; CPU breaks it down.
	CPUSeconds float64 `json:"cpuSeconds,omitempty"`
	CPU        *CPUUse `json:"cpu,omitempty"`
	// Round is the round (from 1) of an interleaved comparison.
	Round int `json:"round,omitempty"`
	// NotRun says why the run did not happen.
	NotRun string `json:"notRun,omitempty"`
	// Errors lists the first errors seen (clerk or submission).
	Errors []string `json:"errors,omitempty"`
	// Profile is the CPU profile of the run, when taken.
	Profile string `json:"profile,omitempty"`
}

// errorLog keeps the first few errors and counts all.
type errorLog struct {
	mu    sync.Mutex
	first []string
	n     int
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.first) < 5 {
		l.first = append(l.first, err.Error())
	}
}

func (l *errorLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > len(l.first) {
		return append(append([]string(nil), l.first...), fmt.Sprintf("... %d errors in all", l.n))
	}
	return append([]string(nil), l.first...)
}

// durations collects latencies from concurrent goroutines.
type durations struct {
	mu sync.Mutex
	ds []time.Duration
}

func (d *durations) add(v time.Duration) {
	d.mu.Lock()
	d.ds = append(d.ds, v)
	d.mu.Unlock()
}

func (d *durations) summary() Latency {
	d.mu.Lock()
	defer d.mu.Unlock()
	return summarize(d.ds)
}

// pace calls submit(i) for i in [0, n): at rate per second, each in its own
// goroutine so that a slow call does not delay the schedule, or (rate 0) as
// fast as workers goroutines manage. It returns when every call returned.
func pace(ctx context.Context, n int, rate float64, workers int, submit func(i int)) {
	var wg sync.WaitGroup
	if rate > 0 {
		interval := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		for i := range n {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				select {
				case <-ctx.Done():
					wg.Wait()
					return
				case <-time.After(d):
				}
			}
			wg.Add(1)
			go func() { defer wg.Done(); submit(i) }()
		}
		wg.Wait()
		return
	}
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				submit(i)
			}
		}()
	}
	wg.Wait()
}

// runAmtsweg submits n applications of the benchmark definition to the
// intake topic, lets a simulated clerk complete their tasks through the
// task API and waits until every final status is projected.
func (e *env) runAmtsweg(ctx context.Context, cfg *Config, mode string, n int, tag string) (ProcedureRun, error) {
	run := ProcedureRun{System: SystemAmtsweg, Mode: mode, N: n}
	rate := 0.0
	if mode == ModeRate {
		rate, run.Rate = cfg.Rate, cfg.Rate
	}
	refs := make([]string, n)
	for i := range refs {
		refs[i] = fmt.Sprintf("BENCH-%s-%06d", tag, i)
	}
	token, err := e.token(auth.Principal{Subject: "clerk-" + strings.ToLower(tag), Name: "Benchmark Clerk", Tenant: benchTenant, Roles: []string{benchRole}})
	if err != nil {
		return run, err
	}
	var errs errorLog
	cctx, stopClerk := context.WithCancel(ctx)
	cl := &httpClerk{api: e.dev.APIURL, token: token, prefix: "BENCH-" + tag + "-", workers: cfg.Clerks, errs: &errs, http: newHTTPClient(),
		claimFirst: e.clerksClaimFirst}
	clerkDone := make(chan struct{})
	go func() { defer close(clerkDone); cl.run(cctx) }()
	defer func() { stopClerk(); <-clerkDone }()

	w := kafkabus.NewWriter(e.dev.Brokers, events.TopicIntake)
	defer w.Close()
	submitted := make([]time.Time, n)
	encode := func(i int) (kafka.Message, error) {
		sub := intake.Submission{
			Procedure: KeyBenchmark, Tenant: benchTenant, Reference: refs[i],
			Applicant: json.RawMessage(`{"name":"Erika Mustermann","email":"erika@example.org"}`),
			Payload:   json.RawMessage(fmt.Sprintf(`{"subject":"Benchmark application %d","amount":%d}`, i, i%1000)),
		}
		msg, _, err := sub.Encode(time.Now())
		return msg, err
	}
	bounds, lagBefore := lagBuckets()
	stopProfile := startProfile(cfg, "procedures-"+SystemAmtsweg+"-"+mode+"-"+tag, &run.Profile)
	// Every application is stamped at its own submission, just before its
	// own write, as the baselines stamp each start call: as fast as
	// possible, 64 submitters write concurrently (the writer batches what
	// they hand over together); at the rate, each on its own schedule.
	workers := 0
	if mode == ModeMax {
		workers = maxSubmitters
	}
	pace(ctx, n, rate, workers, func(i int) {
		m, err := encode(i)
		if err != nil {
			errs.add(err)
			return
		}
		submitted[i] = time.Now()
		if err := w.WriteMessages(ctx, m); err != nil {
			errs.add(fmt.Errorf("submit %s: %w", refs[i], err))
			submitted[i] = time.Time{}
		}
	})
	done, err := e.waitProjected(ctx, refs, cfg.procedureTimeout(n, rate))
	stopProfile()
	if err != nil {
		return run, err
	}
	_, lagAfter := lagBuckets()
	run.ProjectionLagCommittedP50 = bucketQuantile(bounds, lagBefore, lagAfter, 0.5)
	run.ProjectionLagCommittedP99 = bucketQuantile(bounds, lagBefore, lagAfter, 0.99)
	run.Load = loadAverage()
	run.Completed = len(done)
	run.TaskClaim, run.TaskComplete = cl.claims.summary(), cl.completes.summary()

	var toDone durations
	var first, last time.Time
	for i, ref := range refs {
		if submitted[i].IsZero() {
			continue
		}
		if first.IsZero() || submitted[i].Before(first) {
			first = submitted[i]
		}
		if t, ok := done[ref]; ok {
			toDone.add(t.Sub(submitted[i]))
			if t.After(last) {
				last = t
			}
		}
	}
	if !last.IsZero() {
		run.Seconds = last.Sub(first).Seconds()
		run.Throughput = float64(run.Completed) / run.Seconds
	}
	run.SubmitToDone = toDone.summary()
	started, err := e.startTimes(ctx, refs, func(ref string) string { return contract.WorkflowID(ref) })
	if err != nil {
		errs.add(err)
	}
	var toStart durations
	for i, ref := range refs {
		if t, ok := started[ref]; ok && !submitted[i].IsZero() {
			toStart.add(t.Sub(submitted[i]))
		}
	}
	run.SubmitToStarted = toStart.summary()
	if run.HistoryEvents, run.WorkflowTasks, err = e.historySize(ctx, contract.WorkflowID(refs[0])); err != nil {
		errs.add(err)
	}
	if run.ProjectionLag, err = e.projectionLag(ctx, refs); err != nil {
		errs.add(err)
	}
	run.Errors = errs.list()
	return run, nil
}

// maxSubmitters is the number of concurrent submitters of every system as
// fast as possible.
const maxSubmitters = 64

// waitProjected polls the applications projection until every reference
// has its final status, and returns when each was projected.
func (e *env) waitProjected(ctx context.Context, refs []string, timeout time.Duration) (map[string]time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		var count int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM applications WHERE reference = ANY($1) AND status = 'completed'`, refs).Scan(&count); err != nil {
			return nil, fmt.Errorf("count completed applications: %w", err)
		}
		if count == len(refs) || time.Now().After(deadline) {
			if count < len(refs) {
				e.log.Warn("not every application finished in time", "finished", count, "of", len(refs), "timeout", timeout)
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	rows, err := e.db.Query(ctx, `SELECT reference, updated_at FROM applications WHERE reference = ANY($1) AND status = 'completed'`, refs)
	if err != nil {
		return nil, fmt.Errorf("read completed applications: %w", err)
	}
	defer rows.Close()
	out := make(map[string]time.Time, len(refs))
	for rows.Next() {
		var ref string
		var at time.Time
		if err := rows.Scan(&ref, &at); err != nil {
			return nil, err
		}
		out[ref] = at
	}
	return out, rows.Err()
}

// projectionLag reads, from the audit log the projector writes in the same
// transaction as the read models, how long each event of refs took from
// its time (set by the workflow) to being applied.
func (e *env) projectionLag(ctx context.Context, refs []string) (Latency, error) {
	rows, err := e.db.Query(ctx, `SELECT extract(epoch FROM applied_at - time) FROM procedure_events WHERE reference = ANY($1)`, refs)
	if err != nil {
		return Latency{}, fmt.Errorf("projection lag: %w", err)
	}
	defer rows.Close()
	var ds []time.Duration
	for rows.Next() {
		var s float64
		if err := rows.Scan(&s); err != nil {
			return Latency{}, err
		}
		ds = append(ds, time.Duration(s*float64(time.Second)))
	}
	return summarize(ds), rows.Err()
}

// historySize counts the events and the completed workflow tasks of a
// workflow's history.
func (e *env) historySize(ctx context.Context, workflowID string) (events, tasks int, err error) {
	it := e.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return events, tasks, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		events++
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			tasks++
		}
	}
	return events, tasks, nil
}

// startTimes asks Temporal when each workflow started.
func (e *env) startTimes(ctx context.Context, refs []string, id func(string) string) (map[string]time.Time, error) {
	var mu sync.Mutex
	out := make(map[string]time.Time, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, ref := range refs {
		g.Go(func() error {
			d, err := e.temporal.DescribeWorkflowExecution(gctx, id(ref), "")
			if err != nil {
				return fmt.Errorf("describe %s: %w", id(ref), err)
			}
			if st := d.GetWorkflowExecutionInfo().GetStartTime(); st != nil {
				mu.Lock()
				out[ref] = st.AsTime()
				mu.Unlock()
			}
			return nil
		})
	}
	return out, g.Wait()
}

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// clerkPoll is how often the simulated clerks reload their worklist while
// it holds nothing new.
const clerkPoll = 100 * time.Millisecond

// httpClerk works the worklist like a clerk's inbox does: it lists the open
// tasks of its role, then claims and completes each through the task API.
type httpClerk struct {
	api, token, prefix string
	workers            int
	http               *http.Client
	errs               *errorLog
	claims, completes  durations
	// claimFirst makes the clerk claim each task before completing it.
	claimFirst bool
}

func (c *httpClerk) run(ctx context.Context) {
	work := make(chan string, 4096)
	var wg sync.WaitGroup
	for range max(c.workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				c.decide(ctx, id)
			}
		}()
	}
	defer func() { close(work); wg.Wait() }()
	seen := map[string]bool{}
	for ctx.Err() == nil {
		var list api.TaskList
		err := c.do(ctx, http.MethodGet, "/api/v1/tasks?status=open&role="+benchRole+"&limit=200", nil, &list)
		if err != nil && ctx.Err() == nil {
			c.errs.add(fmt.Errorf("worklist: %w", err))
		}
		fresh := 0
		for _, t := range list.Tasks {
			if strings.HasPrefix(t.Reference, c.prefix) && !seen[t.ID] {
				seen[t.ID] = true
				fresh++
				select {
				case work <- t.ID:
				case <-ctx.Done():
					return
				}
			}
		}
		if fresh == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(clerkPoll):
			}
		}
	}
}

// decide completes a task, claiming it first when the clerk is set to (a
// clerk may complete an open task of their role straight away). An action that fails (the API
// answers 504 when the procedure is too busy to answer in time) is tried
// again, as a clerk would, up to five times; an answer of 409 to a retry
// means the earlier attempt took effect. Only attempts that succeeded count
// towards the round trips; every failure is listed among the errors.
func (c *httpClerk) decide(ctx context.Context, id string) {
	type action struct {
		path string
		body []byte
		rtt  *durations
	}
	actions := []action{{"/api/v1/tasks/" + id + "/complete", []byte(`{"data":{"approved":true}}`), &c.completes}}
	if c.claimFirst {
		actions = append([]action{{"/api/v1/tasks/" + id + "/claim", nil, &c.claims}}, actions...)
	}
	for _, step := range actions {
		for attempt := 1; ; attempt++ {
			t0 := time.Now()
			err := c.do(ctx, http.MethodPost, step.path, step.body, nil)
			if err == nil {
				step.rtt.add(time.Since(t0))
				break
			}
			if ctx.Err() != nil {
				return
			}
			c.errs.add(fmt.Errorf("attempt %d: %w", attempt, err))
			var se *statusError
			if attempt > 1 && errors.As(err, &se) && se.code == http.StatusConflict {
				break // the earlier attempt took effect
			}
			if attempt == 5 {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
	}
}

// statusError is an answer other than 200.
type statusError struct {
	method, path string
	code         int
	body         []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.code, bytes.TrimSpace(e.body))
}

func (c *httpClerk) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{method: method, path: path, code: resp.StatusCode, body: b}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
