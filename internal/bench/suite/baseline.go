package suite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/internal/bench/benchplugin"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/host"
)

// Names of baseline A, the hand-written Temporal workflow of the same shape
// as the benchmark definition.
const (
	baselineQueue    = "bench-baseline"
	baselineWorkflow = "BenchBaseline"
	baselineAnnounce = "bench.announce"
	baselineUpdate   = "complete"
)

// BaselineInput starts a baseline workflow.
type BaselineInput struct {
	Reference string `json:"reference"`
	Tenant    string `json:"tenant"`
	Subject   string `json:"subject"`
	Amount    int    `json:"amount"`
}

// BaselineWorkflow is what one would write by hand on Temporal for the
// benchmark procedure: three activities calling the benchmark plugin, a
// local activity that puts the task on the clerk's list, one Update that
// completes it, done. No domain events, no projections.
func BaselineWorkflow(ctx workflow.Context, in BaselineInput) (string, error) {
	waiting, done := false, false
	if err := workflow.SetUpdateHandlerWithOptions(ctx, baselineUpdate,
		func(ctx workflow.Context, data json.RawMessage) (string, error) {
			done = true
			return "completed", nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, data json.RawMessage) error {
			if !waiting || done {
				return temporal.NewApplicationError("no open task", "TaskConflict")
			}
			return nil
		}}); err != nil {
		return "", err
	}
	ao := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10, MaximumInterval: time.Minute},
	})
	call := func(name, step string, input any, out any) error {
		raw, err := json.Marshal(input)
		if err != nil {
			return err
		}
		var res json.RawMessage
		if err := workflow.ExecuteActivity(ao, name, plugins.Call{Activity: name, Reference: in.Reference, Tenant: in.Tenant,
			Step: step, IdempotencyKey: in.Reference + "/" + step, Input: raw}).Get(ctx, &res); err != nil {
			return err
		}
		return json.Unmarshal(res, out)
	}
	var reg benchplugin.RegisterOutput
	if err := call(benchplugin.ActivityRegister, "register", benchplugin.RegisterInput{Subject: in.Subject, Amount: in.Amount}, &reg); err != nil {
		return "", err
	}
	var chk benchplugin.CheckOutput
	if err := call(benchplugin.ActivityCheck, "check", benchplugin.CheckInput{FileID: reg.FileID, Amount: in.Amount}, &chk); err != nil {
		return "", err
	}
	var arc benchplugin.ArchiveOutput
	if err := call(benchplugin.ActivityArchive, "archive", benchplugin.ArchiveInput{FileID: reg.FileID, Score: chk.Score}, &arc); err != nil {
		return "", err
	}
	waiting = true
	lao := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 15 * time.Second})
	if err := workflow.ExecuteLocalActivity(lao, baselineAnnounce, workflow.GetInfo(ctx).WorkflowExecution.ID).Get(ctx, nil); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return done }); err != nil {
		return "", err
	}
	return "decided", nil
}

// announcer is the baseline's task list: the local activity hands the
// workflow id of a waiting workflow to the clerk.
type announcer struct{ ch chan string }

func (a *announcer) announce(ctx context.Context, workflowID string) error {
	select {
	case a.ch <- workflowID:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// baseline runs baseline A's worker in this process on the same Temporal
// server as Amtsweg, with the same worker options, and its own plugin host
// that runs the same benchmark plugin as a separate process.
type baseline struct {
	c     client.Client
	w     worker.Worker
	ph    *host.Host
	tasks chan string
}

func (e *env) startBaseline(ctx context.Context) (*baseline, error) {
	ph, err := host.New(host.Options{Dir: e.pluginDir, Logger: e.log.With("component", "baseline-plugins")})
	if err != nil {
		return nil, err
	}
	if err := ph.Start(ctx); err != nil {
		_ = ph.Close()
		return nil, err
	}
	if _, ok := ph.Lookup(benchplugin.ActivityRegister); !ok {
		_ = ph.Close()
		return nil, fmt.Errorf("baseline: the benchmark plugin did not load from %s (see the log)", e.pluginDir)
	}
	b := &baseline{c: e.temporal, ph: ph, tasks: make(chan string, 1<<16)}
	b.w = worker.New(e.temporal, baselineQueue, worker.Options{
		// As Amtsweg's worker (stack.RunWorker).
		MaxConcurrentActivityExecutionSize:      200,
		MaxConcurrentLocalActivityExecutionSize: 200,
	})
	b.w.RegisterWorkflowWithOptions(BaselineWorkflow, workflow.RegisterOptions{Name: baselineWorkflow})
	b.w.RegisterActivityWithOptions((&announcer{ch: b.tasks}).announce, activity.RegisterOptions{Name: baselineAnnounce})
	b.w.RegisterDynamicActivity(ph.DynamicActivity, activity.DynamicRegisterOptions{})
	if err := b.w.Start(); err != nil {
		_ = ph.Close()
		return nil, fmt.Errorf("start baseline worker: %w", err)
	}
	return b, nil
}

func (b *baseline) stop() {
	b.w.Stop()
	_ = b.ph.Close()
}

// runBaseline runs n baseline workflows: started at the rate (or as fast as
// 64 callers manage), each task completed by the clerk with one Update as
// soon as it is announced.
func (e *env) runBaseline(ctx context.Context, cfg *Config, b *baseline, mode string, n int, tag string) (ProcedureRun, error) {
	run := ProcedureRun{System: SystemTemporal, Mode: mode, N: n}
	rate := 0.0
	if mode == ModeRate {
		rate, run.Rate = cfg.Rate, cfg.Rate
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("baseline-%s-%06d", tag, i)
	}
	var errs errorLog
	var completes durations
	var completed sync.WaitGroup
	completed.Add(n)
	cctx, stopClerk := context.WithCancel(ctx)
	defer stopClerk()
	for range max(cfg.Clerks, 1) {
		go func() {
			for {
				select {
				case <-cctx.Done():
					return
				case id := <-b.tasks:
					// As Amtsweg's clerk: up to five attempts, each
					// bounded like the task API's (api.ActionTimeout).
					for attempt := 1; attempt <= 5 && cctx.Err() == nil; attempt++ {
						t0 := time.Now()
						actx, cancel := context.WithTimeout(cctx, api.ActionTimeout)
						h, err := b.c.UpdateWorkflow(actx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: baselineUpdate,
							Args: []any{json.RawMessage(`{"approved":true}`)}, WaitForStage: client.WorkflowUpdateStageCompleted})
						if err == nil {
							err = h.Get(actx, nil)
						}
						cancel()
						if err == nil {
							completes.add(time.Since(t0))
							completed.Done()
							break
						}
						if cctx.Err() != nil {
							break
						}
						errs.add(fmt.Errorf("complete %s, attempt %d: %w", id, attempt, err))
						var appErr *temporal.ApplicationError
						if attempt > 1 && errors.As(err, &appErr) && appErr.Type() == "TaskConflict" {
							completed.Done() // the earlier attempt took effect
							break
						}
						time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
					}
				}
			}
		}()
	}
	submitted := make([]time.Time, n)
	stopProfile := startProfile(cfg, "procedures-"+SystemTemporal+"-"+mode, &run.Profile)
	pace(ctx, n, rate, maxSubmitters, func(i int) {
		submitted[i] = time.Now()
		_, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: ids[i], TaskQueue: baselineQueue, EnableEagerStart: true,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		}, baselineWorkflow, BaselineInput{Reference: ids[i], Tenant: benchTenant, Subject: fmt.Sprintf("Benchmark application %d", i), Amount: i % 1000})
		if err != nil {
			errs.add(fmt.Errorf("start %s: %w", ids[i], err))
			submitted[i] = time.Time{}
			completed.Done()
		}
	})
	waitCh := make(chan struct{})
	go func() { completed.Wait(); close(waitCh) }()
	select {
	case <-waitCh:
	case <-time.After(cfg.procedureTimeout(n, rate)):
		errs.add(errors.New("not every baseline workflow was completed in time"))
	case <-ctx.Done():
		stopProfile()
		return run, ctx.Err()
	}
	var startedIDs []string
	for i, id := range ids {
		if !submitted[i].IsZero() {
			startedIDs = append(startedIDs, id)
		}
	}
	closed, started, err := e.closeTimes(ctx, startedIDs)
	stopProfile()
	if err != nil {
		errs.add(err)
	}
	run.Load = loadAverage()
	run.TaskComplete = completes.summary()
	var toStart, toDone durations
	var first, last time.Time
	for i, id := range ids {
		if submitted[i].IsZero() {
			continue
		}
		if first.IsZero() || submitted[i].Before(first) {
			first = submitted[i]
		}
		if t, ok := started[id]; ok {
			toStart.add(t.Sub(submitted[i]))
		}
		if t, ok := closed[id]; ok {
			run.Completed++
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
	run.SubmitToStarted, run.SubmitToDone = toStart.summary(), toDone.summary()
	if len(startedIDs) > 0 {
		if run.HistoryEvents, run.WorkflowTasks, err = e.historySize(ctx, startedIDs[0]); err != nil {
			errs.add(err)
		}
	}
	run.Errors = errs.list()
	return run, nil
}

// closeTimes waits (briefly) until every workflow has closed and returns
// their close and start times as Temporal recorded them.
func (e *env) closeTimes(ctx context.Context, ids []string) (closed, started map[string]time.Time, err error) {
	var mu sync.Mutex
	closed, started = make(map[string]time.Time, len(ids)), make(map[string]time.Time, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, id := range ids {
		g.Go(func() error {
			for attempt := 0; ; attempt++ {
				d, err := e.temporal.DescribeWorkflowExecution(gctx, id, "")
				if err != nil {
					return fmt.Errorf("describe %s: %w", id, err)
				}
				info := d.GetWorkflowExecutionInfo()
				if ct := info.GetCloseTime(); ct != nil && info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
					mu.Lock()
					closed[id], started[id] = ct.AsTime(), info.GetStartTime().AsTime()
					mu.Unlock()
					return nil
				}
				if attempt >= 50 {
					mu.Lock()
					started[id] = info.GetStartTime().AsTime()
					mu.Unlock()
					return nil
				}
				select {
				case <-gctx.Done():
					return gctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	return closed, started, g.Wait()
}
