package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// OpenResult is measurement 7: memory of many open procedures and the
// punctuality of timers while they wait.
type OpenResult struct {
	// Open is how many procedures were started and left waiting.
	Open int `json:"open"`
	// StartPerSecond is the rate at which they were started and reached
	// their task.
	StartPerSecond float64 `json:"startPerSecond"`
	// Points are measurements after each quarter (the first with none).
	Points []MemPoint `json:"points"`
	// Flat tells whether memory per open procedure stayed flat: the last
	// quarter cost at most 1.5 times the average per procedure.
	Flat        bool   `json:"flat"`
	FlatVerdict string `json:"flatVerdict"`
	// WorkerCacheSize is the worker's sticky workflow cache: the most
	// workflows it keeps in memory between tasks.
	WorkerCacheSize int `json:"workerCacheSize"`
	// Extrapolation estimates the figures at 100,000 open procedures.
	Extrapolation string `json:"extrapolation"`

	Timers        int     `json:"timers"`
	TimersFired   int     `json:"timersFired"`
	TimerLateness Latency `json:"timerLateness"`
	Load          string  `json:"load"`
	Profile       string  `json:"profile,omitempty"`
}

// MemPoint is the process's memory at a number of open procedures. The
// suite's process holds the Temporal server (with its SQLite store), the
// worker and the other Amtsweg processes; the Go heap is split by the
// allocation sites' packages (runtime heap profile).
type MemPoint struct {
	Open       int   `json:"open"`
	RSS        int64 `json:"rssBytes"`
	HeapInuse  int64 `json:"heapInuseBytes"`
	ServerHeap int64 `json:"serverHeapBytes"`
	WorkerHeap int64 `json:"workerHeapBytes"`
	// Per open procedure, from the point with none.
	RSSPerProc  float64 `json:"rssPerProcBytes"`
	HeapPerProc float64 `json:"heapPerProcBytes"`
	// Marginal heap per procedure since the previous point.
	MarginalHeapPerProc float64 `json:"marginalHeapPerProcBytes"`
}

// memPoint measures after a full garbage collection.
func memPoint(open int) MemPoint {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := MemPoint{Open: open, RSS: rssBytes(), HeapInuse: int64(ms.HeapInuse)}
	server, worker, total := heapSplit()
	if total > 0 {
		p.ServerHeap = int64(float64(ms.HeapInuse) * server / total)
		p.WorkerHeap = int64(float64(ms.HeapInuse) * worker / total)
	}
	return p
}

// heapSplit attributes the sampled live heap to the Temporal server (with
// SQLite) and to the Temporal SDK (the worker) by the innermost frame of
// each allocation's stack that belongs to either, scaling samples as pprof
// does.
func heapSplit() (server, worker, total float64) {
	n, _ := runtime.MemProfile(nil, false)
	recs := make([]runtime.MemProfileRecord, n+64)
	n, ok := runtime.MemProfile(recs, false)
	if !ok {
		return 0, 0, 0
	}
	rate := float64(runtime.MemProfileRate)
	for _, r := range recs[:n] {
		live := float64(r.InUseBytes())
		if live <= 0 {
			continue
		}
		if objs := r.AllocObjects; objs > 0 && rate > 0 {
			avg := float64(r.AllocBytes) / float64(objs)
			live /= 1 - math.Exp(-avg/rate)
		}
		total += live
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			switch {
			case strings.HasPrefix(f.Function, "go.temporal.io/server/"), strings.HasPrefix(f.Function, "modernc.org/sqlite"):
				server += live
			case strings.HasPrefix(f.Function, "go.temporal.io/sdk/"):
				worker += live
			default:
				if more {
					continue
				}
			}
			break
		}
	}
	return server, worker, total
}

// Names of the timer workflow.
const (
	timerQueue    = "bench-timers"
	timerWorkflow = "BenchTimer"
	timerFired    = "bench.timer-fired"
)

// TimerInput starts a timer workflow: it sleeps Delay, then reports when it
// woke up and when it should have.
type TimerInput struct {
	Delay time.Duration `json:"delay"`
}

// TimerWorkflow sleeps on a durable timer and reports its lateness through
// a local activity that reads the wall clock when the workflow resumes.
func TimerWorkflow(ctx workflow.Context, in TimerInput) error {
	due := workflow.Now(ctx).Add(in.Delay)
	if err := workflow.Sleep(ctx, in.Delay); err != nil {
		return err
	}
	lao := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteLocalActivity(lao, timerFired, workflow.GetInfo(ctx).WorkflowExecution.ID, due).Get(ctx, nil)
}

type timerLog struct {
	mu   sync.Mutex
	late map[string]time.Duration
}

func (l *timerLog) fired(ctx context.Context, id string, due time.Time) error {
	late := time.Since(due)
	l.mu.Lock()
	if _, seen := l.late[id]; !seen {
		l.late[id] = late
	}
	l.mu.Unlock()
	return nil
}

// phaseOpen is measurement 7.
func (e *env) phaseOpen(ctx context.Context, cfg *Config, rep *Report) error {
	m := cfg.OpenProcedures
	res := &OpenResult{Open: m, Timers: cfg.Timers, WorkerCacheSize: 10000}
	pc := &procclient.Client{C: e.temporal}
	ref := e.refs[KeyOpen]
	hash := events.HashAccessCode("ABCD-EFGH-JKMN")
	refs := make([]string, m)
	for i := range refs {
		refs[i] = fmt.Sprintf("OPEN-%07d", i)
	}
	res.Points = append(res.Points, memPoint(0))
	stopProfile := startProfile(cfg, "open-procedures", &res.Profile)
	t0 := time.Now()
	var errs errorLog
	const quarters = 4
	for q := 1; q <= quarters; q++ {
		lo, hi := m*(q-1)/quarters, m*q/quarters
		pace(ctx, hi-lo, 0, 32, func(i int) {
			r := refs[lo+i]
			err := pc.Start(ctx, contract.Input{Reference: r, Tenant: benchTenant, Definition: ref, ReceivedAt: time.Now().UTC(),
				AccessCodeSHA256: hash, Payload: json.RawMessage(`{"subject":"Open procedure"}`)})
			if err != nil {
				errs.add(err)
			}
		})
		// Wait until every procedure of the quarter waits on its task.
		if err := e.waitTasks(ctx, refs[:hi], 10*time.Minute); err != nil {
			stopProfile()
			return err
		}
		p := memPoint(hi)
		prev := res.Points[len(res.Points)-1]
		base := res.Points[0]
		p.RSSPerProc = float64(p.RSS-base.RSS) / float64(hi)
		p.HeapPerProc = float64(p.HeapInuse-base.HeapInuse) / float64(hi)
		p.MarginalHeapPerProc = float64(p.HeapInuse-prev.HeapInuse) / float64(hi-prev.Open)
		res.Points = append(res.Points, p)
		cfg.Logger.Info("open procedures", "open", hi, "rss MiB", mib(p.RSS), "heap MiB", mib(p.HeapInuse), "heap/proc KiB", p.HeapPerProc/1024)
	}
	res.StartPerSecond = float64(m) / time.Since(t0).Seconds()
	stopProfile()
	last := res.Points[len(res.Points)-1]
	res.Flat = last.MarginalHeapPerProc <= 1.5*last.HeapPerProc
	res.FlatVerdict = fmt.Sprintf("%.1f KiB heap per procedure overall, %.1f KiB in the last quarter (RSS %.1f KiB per procedure)",
		last.HeapPerProc/1024, last.MarginalHeapPerProc/1024, last.RSSPerProc/1024)
	at100k := float64(res.Points[0].HeapInuse) + 100000*last.HeapPerProc
	res.Extrapolation = fmt.Sprintf("linear extrapolation to 100,000 open procedures: heap %.0f MiB, RSS %.0f MiB (an upper bound: the worker keeps at most %d workflows in its cache, so its share stops growing there)",
		at100k/(1<<20), (float64(res.Points[0].RSS)+100000*last.RSSPerProc)/(1<<20), res.WorkerCacheSize)

	// Timers fire on time while the procedures wait: short timers, spread
	// over TimerDelay..2*TimerDelay, on the same server and process.
	tl := &timerLog{late: map[string]time.Duration{}}
	w := worker.New(e.temporal, timerQueue, worker.Options{MaxConcurrentLocalActivityExecutionSize: 200})
	w.RegisterWorkflowWithOptions(TimerWorkflow, workflow.RegisterOptions{Name: timerWorkflow})
	w.RegisterActivityWithOptions(tl.fired, activity.RegisterOptions{Name: timerFired})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start timer worker: %w", err)
	}
	defer w.Stop()
	tag := fmt.Sprint(time.Now().UnixNano())
	pace(ctx, cfg.Timers, 0, 32, func(i int) {
		delay := cfg.TimerDelay + time.Duration(float64(cfg.TimerDelay)*float64(i)/float64(max(cfg.Timers, 1)))
		_, err := e.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("timer-%s-%d", tag, i), TaskQueue: timerQueue},
			timerWorkflow, TimerInput{Delay: delay})
		if err != nil {
			errs.add(err)
		}
	})
	deadline := time.Now().Add(3*cfg.TimerDelay + time.Minute)
	for time.Now().Before(deadline) {
		tl.mu.Lock()
		n := len(tl.late)
		tl.mu.Unlock()
		if n >= cfg.Timers {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	tl.mu.Lock()
	var late []time.Duration
	for _, d := range tl.late {
		late = append(late, d)
	}
	tl.mu.Unlock()
	res.TimersFired = len(late)
	res.TimerLateness = summarize(late)
	res.Load = loadAverage()
	if list := errs.list(); len(list) > 0 {
		cfg.Logger.Warn("open procedures: errors", "errors", list)
	}
	rep.Open = res
	return nil
}

// waitTasks waits until the task projection holds an open task for every
// reference.
func (e *env) waitTasks(ctx context.Context, refs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var n int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE reference = ANY($1) AND status = 'open'`, refs).Scan(&n); err != nil {
			return fmt.Errorf("count open tasks: %w", err)
		}
		if n >= len(refs) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d open procedures reached their task within %s", n, len(refs), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
