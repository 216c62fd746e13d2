package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dbos-inc/dbos-transact-golang/dbos"

	"github.com/amtsweg/amtsweg/internal/bench/benchplugin"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/host"
)

// Output is what the program prints: one run per mode.
type Output struct {
	Runs []Run `json:"runs"`
}

// Run is one run of n workflows.
type Run struct {
	Mode      string     `json:"mode"`
	Rate      float64    `json:"rate,omitempty"`
	N         int        `json:"n"`
	Workflows []Workflow `json:"workflows"`
	Errors    []string   `json:"errors,omitempty"`
}

// Workflow holds the times of one workflow; CompleteNs is the clerk's
// round trip of sending the completion message.
type Workflow struct {
	Submitted  time.Time `json:"submitted"`
	Started    time.Time `json:"started"`
	Done       time.Time `json:"done"`
	CompleteNs int64     `json:"completeNs"`
}

// Input starts a benchmark workflow.
type Input struct {
	Reference string `json:"reference"`
	Tenant    string `json:"tenant"`
	Subject   string `json:"subject"`
	Amount    int    `json:"amount"`
}

const completeTopic = "complete"

var (
	ph        *host.Host
	announced = make(chan string, 1<<16)
)

func call[Out any](ctx context.Context, in Input, name, step string, input any) (Out, error) {
	var out Out
	raw, err := json.Marshal(input)
	if err != nil {
		return out, err
	}
	res, err := ph.Execute(ctx, plugins.Call{Activity: name, Reference: in.Reference, Tenant: in.Tenant, Step: step,
		IdempotencyKey: in.Reference + "/" + step, Attempt: 1, Input: raw})
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal(res, &out)
}

// benchWorkflow is the benchmark procedure on DBOS: three durable steps
// through the plugin, a step that puts the task on the clerk's list, a
// durable wait for the clerk's message, done.
func benchWorkflow(ctx dbos.Context, in Input) (string, error) {
	reg, err := dbos.RunAsStep(ctx, func(c context.Context) (benchplugin.RegisterOutput, error) {
		return call[benchplugin.RegisterOutput](c, in, benchplugin.ActivityRegister, "register", benchplugin.RegisterInput{Subject: in.Subject, Amount: in.Amount})
	})
	if err != nil {
		return "", err
	}
	chk, err := dbos.RunAsStep(ctx, func(c context.Context) (benchplugin.CheckOutput, error) {
		return call[benchplugin.CheckOutput](c, in, benchplugin.ActivityCheck, "check", benchplugin.CheckInput{FileID: reg.FileID, Amount: in.Amount})
	})
	if err != nil {
		return "", err
	}
	if _, err := dbos.RunAsStep(ctx, func(c context.Context) (benchplugin.ArchiveOutput, error) {
		return call[benchplugin.ArchiveOutput](c, in, benchplugin.ActivityArchive, "archive", benchplugin.ArchiveInput{FileID: reg.FileID, Score: chk.Score})
	}); err != nil {
		return "", err
	}
	id, err := dbos.GetWorkflowID(ctx)
	if err != nil {
		return "", err
	}
	if _, err := dbos.RunAsStep(ctx, func(c context.Context) (bool, error) {
		select {
		case announced <- id:
			return true, nil
		case <-c.Done():
			return false, c.Err()
		}
	}); err != nil {
		return "", err
	}
	if _, err := dbos.Recv[string](ctx, completeTopic, time.Hour); err != nil {
		return "", err
	}
	return "decided", nil
}

func main() {
	var (
		dbURL, pluginDir string
		n, rateN, clerks int
		rate             float64
	)
	flag.StringVar(&dbURL, "database-url", "", "PostgreSQL URL of the DBOS system database (created if missing)")
	flag.StringVar(&pluginDir, "plugins", "", "plugin directory holding the benchmark plugin")
	flag.IntVar(&n, "n", 2000, "workflows of the as-fast-as-possible run")
	flag.IntVar(&rateN, "rate-n", 0, "workflows of the fixed-rate run (default -n)")
	flag.Float64Var(&rate, "rate", 50, "submissions per second of the fixed-rate run")
	flag.IntVar(&clerks, "clerks", 16, "concurrent clerks")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if rateN <= 0 {
		rateN = n
	}
	if err := run(dbURL, pluginDir, n, rateN, clerks, rate, log); err != nil {
		fmt.Fprintln(os.Stderr, "dbos baseline:", err)
		os.Exit(1)
	}
}

func run(dbURL, pluginDir string, n, rateN, clerks int, rate float64, log *slog.Logger) error {
	if dbURL == "" || pluginDir == "" {
		return errors.New("-database-url and -plugins are required")
	}
	ctx := context.Background()
	var err error
	ph, err = host.New(host.Options{Dir: pluginDir, Logger: log})
	if err != nil {
		return err
	}
	if err := ph.Start(ctx); err != nil {
		return err
	}
	defer ph.Close()
	if _, ok := ph.Lookup(benchplugin.ActivityRegister); !ok {
		return fmt.Errorf("the benchmark plugin did not load from %s", pluginDir)
	}
	dctx, err := dbos.NewContext(ctx, dbos.Config{AppName: "amtsweg-bench", DatabaseURL: dbURL, Logger: log})
	if err != nil {
		return fmt.Errorf("DBOS: %w", err)
	}
	dbos.RegisterWorkflow(dctx, benchWorkflow)
	if err := dbos.Launch(dctx); err != nil {
		return fmt.Errorf("DBOS launch: %w", err)
	}
	defer dbos.Shutdown(dctx, 10*time.Second)

	var out Output
	for _, mode := range []string{"rate", "max"} {
		r, count := rate, rateN
		if mode == "max" {
			r, count = 0, n
		}
		res, err := runOnce(dctx, mode, r, count, clerks)
		if err != nil {
			return err
		}
		out.Runs = append(out.Runs, res)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func runOnce(dctx dbos.Context, mode string, rate float64, n, clerks int) (Run, error) {
	run := Run{Mode: mode, Rate: rate, N: n}
	tag := fmt.Sprintf("dbos-%s-%d-", mode, time.Now().UnixNano())
	var errMu sync.Mutex
	addErr := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if len(run.Errors) < 5 {
			run.Errors = append(run.Errors, err.Error())
		}
	}
	var complete sync.Map // id -> round trip
	var completed sync.WaitGroup
	completed.Add(n)
	cctx, stop := context.WithCancel(context.Background())
	defer stop()
	for range clerks {
		go func() {
			for {
				select {
				case <-cctx.Done():
					return
				case id := <-announced:
					t0 := time.Now()
					if err := dbos.Send(dctx, id, "approved", completeTopic); err != nil {
						addErr(fmt.Errorf("send to %s: %w", id, err))
						continue
					}
					complete.Store(id, time.Since(t0))
				}
			}
		}()
	}
	submitted := make([]time.Time, n)
	handles := make([]dbos.WorkflowHandle[string], n)
	submit := func(i int) {
		submitted[i] = time.Now()
		h, err := dbos.RunWorkflow(dctx, benchWorkflow, Input{Reference: fmt.Sprintf("%s%06d", tag, i), Tenant: "bench-amt",
			Subject: fmt.Sprintf("Benchmark application %d", i), Amount: i % 1000}, dbos.WithWorkflowID(fmt.Sprintf("%s%06d", tag, i)))
		if err != nil {
			addErr(err)
			submitted[i] = time.Time{}
			completed.Done()
			return
		}
		handles[i] = h
		go func() {
			defer completed.Done()
			if _, err := h.GetResult(); err != nil {
				addErr(err)
			}
		}()
	}
	var wg sync.WaitGroup
	if rate > 0 {
		interval := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		for i := range n {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			wg.Add(1)
			go func() { defer wg.Done(); submit(i) }()
		}
	} else {
		var next atomic.Int64
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					submit(i)
				}
			}()
		}
	}
	wg.Wait()
	completed.Wait()
	statuses, err := dbos.ListWorkflows(dctx, dbos.WithFilterWorkflowIDPrefix(tag), dbos.WithFilterLoadInput(false), dbos.WithFilterLoadOutput(false))
	if err != nil {
		return run, fmt.Errorf("list workflows: %w", err)
	}
	byID := make(map[string]dbos.WorkflowStatus, len(statuses))
	for _, s := range statuses {
		byID[s.ID] = s
	}
	for i := range n {
		if submitted[i].IsZero() {
			continue
		}
		id := fmt.Sprintf("%s%06d", tag, i)
		s, ok := byID[id]
		if !ok || s.Status != dbos.WorkflowStatusSuccess {
			continue
		}
		w := Workflow{Submitted: submitted[i], Started: s.CreatedAt, Done: s.CompletedAt}
		if !s.StartedAt.IsZero() {
			w.Started = s.StartedAt
		}
		if w.Done.IsZero() {
			w.Done = s.UpdatedAt
		}
		if d, ok := complete.Load(id); ok {
			w.CompleteNs = int64(d.(time.Duration))
		}
		run.Workflows = append(run.Workflows, w)
	}
	return run, nil
}
