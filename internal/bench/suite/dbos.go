package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// dbosOutput is what the DBOS baseline program (internal/bench/dbos) prints.
type dbosOutput struct {
	Runs []struct {
		Mode      string  `json:"mode"`
		Rate      float64 `json:"rate"`
		N         int     `json:"n"`
		Workflows []struct {
			Submitted  time.Time `json:"submitted"`
			Started    time.Time `json:"started"`
			Done       time.Time `json:"done"`
			CompleteNs int64     `json:"completeNs"`
		} `json:"workflows"`
		Errors []string `json:"errors"`
	} `json:"runs"`
}

// runDBOS runs baseline B: it builds internal/bench/dbos (its own Go module) and
// runs it against a database of the same PostgreSQL server. Whatever keeps
// it from running is reported as "not run: <reason>".
func (e *env) runDBOS(ctx context.Context, cfg *Config) []ProcedureRun {
	notRun := func(reason string) []ProcedureRun {
		cfg.Logger.Warn("DBOS baseline not run", "reason", reason)
		return []ProcedureRun{
			{System: SystemDBOS, Mode: ModeRate, Rate: cfg.Rate, N: cfg.RateN, NotRun: reason},
			{System: SystemDBOS, Mode: ModeMax, N: cfg.N, NotRun: reason},
		}
	}
	if cfg.SkipDBOS {
		return notRun("skipped (--skip-dbos)")
	}
	dir := cfg.DBOSDir
	if dir == "" {
		dir = findDBOSDir()
	}
	if dir == "" {
		return notRun("the source of internal/bench/dbos was not found; run the suite from the repository or pass --dbos-dir")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return notRun("the go command is not installed; the DBOS baseline is built from source (internal/bench/dbos)")
	}
	bin := filepath.Join(e.dataDir, "dbos-baseline")
	bctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	build := exec.CommandContext(bctx, goCmd, "build", "-o", bin, ".")
	build.Dir = dir
	out, err := build.CombinedOutput()
	cancel()
	if err != nil {
		return notRun(fmt.Sprintf("go build in %s failed: %v: %s", dir, err, lastLines(string(out), 5)))
	}
	dbURL, err := e.createDatabase(ctx, "amtsweg_dbos")
	if err != nil {
		return notRun(err.Error())
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.procedureTimeout(cfg.RateN, cfg.Rate)+cfg.procedureTimeout(cfg.N, 0))
	defer cancel()
	cmd := exec.CommandContext(rctx, bin, "-database-url", dbURL, "-plugins", e.pluginDir,
		"-n", fmt.Sprint(cfg.N), "-rate-n", fmt.Sprint(cfg.RateN), "-rate", fmt.Sprint(cfg.Rate), "-clerks", fmt.Sprint(cfg.Clerks))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cfg.Logger.Info("running the DBOS baseline", "binary", bin)
	if err := cmd.Run(); err != nil {
		return notRun(fmt.Sprintf("the DBOS baseline failed: %v: %s", err, lastLines(stderr.String(), 5)))
	}
	var res dbosOutput
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return notRun(fmt.Sprintf("the DBOS baseline's output is not readable: %v", err))
	}
	load := loadAverage()
	var runs []ProcedureRun
	for _, r := range res.Runs {
		run := ProcedureRun{System: SystemDBOS, Mode: r.Mode, Rate: r.Rate, N: r.N, Completed: len(r.Workflows), Errors: r.Errors, Load: load}
		var toStart, toDone, complete durations
		var first, last time.Time
		for _, w := range r.Workflows {
			toStart.add(w.Started.Sub(w.Submitted))
			toDone.add(w.Done.Sub(w.Submitted))
			if w.CompleteNs > 0 {
				complete.add(time.Duration(w.CompleteNs))
			}
			if first.IsZero() || w.Submitted.Before(first) {
				first = w.Submitted
			}
			if w.Done.After(last) {
				last = w.Done
			}
		}
		if !last.IsZero() {
			run.Seconds = last.Sub(first).Seconds()
			run.Throughput = float64(run.Completed) / run.Seconds
		}
		run.SubmitToStarted, run.SubmitToDone, run.TaskComplete = toStart.summary(), toDone.summary(), complete.summary()
		runs = append(runs, run)
	}
	if len(runs) == 0 {
		return notRun("the DBOS baseline reported no runs")
	}
	return runs
}

// createDatabase creates database name on the stack's PostgreSQL (if
// missing) and returns its URL.
func (e *env) createDatabase(ctx context.Context, name string) (string, error) {
	var exists bool
	if err := e.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", fmt.Errorf("database %s: %w", name, err)
	}
	if !exists {
		if _, err := e.db.Exec(ctx, `CREATE DATABASE `+name); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
	}
	u, err := url.Parse(e.dev.Database)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// findDBOSDir looks for internal/bench/dbos above the working directory.
func findDBOSDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, cand := range []string{filepath.Join(dir, "internal", "bench", "dbos"), filepath.Join(dir, "dbos")} {
			if _, err := os.Stat(filepath.Join(cand, "go.mod")); err == nil {
				if b, err := os.ReadFile(filepath.Join(cand, "go.mod")); err == nil && bytes.Contains(b, []byte("amtsweg/internal/bench/dbos")) {
					return cand
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
