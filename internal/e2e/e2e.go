// Package e2e is what the end-to-end tests share: the multi-call TestMain
// that lets a test binary serve the bundled plugins, starting the dev stack
// as `amtsweg dev` does, submitting applications through the intake topic
// as the portal does, and waiting for an application's status or open task
// and completing it as a clerk.
//
// It is test support: only tests import it, and the production binary
// does not link it (internal/layering).
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/stack"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Wait bounds how long the helpers wait for the stack to get somewhere.
const Wait = 60 * time.Second

// ServeBundledPlugin serves a bundled plugin and exits when a plugin host
// started the test binary as one ("<binary> plugin serve NAME", the way
// the multi-call amtsweg binary is started); otherwise it returns. Call it
// first in TestMain of tests that run a plugin host with the test binary
// as its executable.
func ServeBundledPlugin() {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if err := bundled.Serve(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// Main is the TestMain of end-to-end tests: it serves a bundled plugin when
// asked (ServeBundledPlugin) and otherwise runs the tests with testenv's
// shared services (testenv.Main), stopping them afterwards.
func Main(m *testing.M) {
	ServeBundledPlugin()
	testenv.Main(m)
}

// NewDataDir makes a data directory for a dev stack that the postgres user
// can reach when the tests run as root (a t.TempDir is 0700 below root's
// temporary directory). The caller removes it.
func NewDataDir() (string, error) {
	dir, err := os.MkdirTemp("", "amtsweg-e2e-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// DataDir is NewDataDir for one test, removed when it ends.
func DataDir(t testing.TB) string {
	t.Helper()
	dir, err := NewDataDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// VersionsDay is the day on which the stacks this package starts choose
// each application's procedure version (devstack.Options.VersionsValidOn),
// unless a test names another day (StartOn, StartStackOn). The receipt
// day must not decide it: when a bundled version's validFrom comes (e.g.
// gewerbeanmeldung 2.0.0 on 2027-01-01), every test would silently switch
// to it. Move this day on, and adapt the tests, when the bundled versions
// the tests run are meant to change. A test that asserts a version names
// its day itself.
var VersionsDay = time.Date(2026, time.December, 5, 12, 0, 0, 0, time.UTC)

// StartStack starts the dev stack in dir, as `amtsweg dev` does: a private
// PostgreSQL cluster in dir, Kafka and the API on free ports, and the test
// binary as the multi-call executable of the bundled plugins (so the
// package's TestMain must call ServeBundledPlugin or Main). Applications
// take the procedure versions valid on VersionsDay. configure, when given,
// adjusts the processes' configuration (e.g. a short interval of a
// periodic job).
func StartStack(ctx context.Context, dir string, configure ...func(*stack.Config)) (*devstack.Dev, error) {
	return StartStackOn(ctx, dir, VersionsDay, configure...)
}

// StartStackOn is StartStack with applications taking the procedure
// versions valid on the day versionsOn.
func StartStackOn(ctx context.Context, dir string, versionsOn time.Time, configure ...func(*stack.Config)) (*devstack.Dev, error) {
	if versionsOn.IsZero() {
		return nil, errors.New("e2e: a day to choose procedure versions on is required (a test must not depend on the day it runs)")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	d, err := devstack.Start(ctx, devstack.Options{
		DataDir:         dir,
		APIAddr:         "127.0.0.1:0",
		KafkaAddr:       "127.0.0.1:0",
		Executable:      exe,
		Logger:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		VersionsValidOn: versionsOn,
		Configure: func(c *stack.Config) {
			for _, f := range configure {
				f(c)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start dev stack: %w", err)
	}
	stacksMu.Lock()
	stacks[d.APIURL] = d
	stacksMu.Unlock()
	return d, nil
}

var (
	stacksMu sync.Mutex
	stacks   = map[string]*devstack.Dev{} // API URL → stack, for AwaitProjected
)

// AwaitProjected waits until the application ref is in the projections of
// the stack this package started at apiURL (for a stack it did not start,
// it returns at once). Tests that poll the citizen's status call it first:
// the status API counts a lookup of a reference it does not know as a failed
// attempt (docs/security.md), and polling through the projector's lag would
// spend the citizen's budget.
func AwaitProjected(t testing.TB, apiURL, ref string) {
	t.Helper()
	stacksMu.Lock()
	d := stacks[apiURL]
	stacksMu.Unlock()
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := d.Stack.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := st.ApplicationStatus(ctx, ref)
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("await the projection of %s: %v", ref, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("application %s never reached the projections", ref)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Start is StartStack for one test, within three minutes. The test stops
// the stack (it may restart it on the same dir).
func Start(t testing.TB, dir string, configure ...func(*stack.Config)) *devstack.Dev {
	t.Helper()
	return StartOn(t, dir, VersionsDay, configure...)
}

// StartOn is Start with applications taking the procedure versions valid
// on the day versionsOn; tests that assert a version start with it.
func StartOn(t testing.TB, dir string, versionsOn time.Time, configure ...func(*stack.Config)) *devstack.Dev {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := StartStackOn(ctx, dir, versionsOn, configure...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Submission is an application for the procedure key by Erika Mustermann
// to the authority stadt-erfurt, with payload as its data.
func Submission(key, payload string) intake.Submission {
	return intake.Submission{
		Procedure: key, Tenant: "stadt-erfurt",
		Applicant: json.RawMessage(`{"name":"Erika Mustermann","email":"erika@example.org"}`),
		Payload:   json.RawMessage(payload),
	}
}

// ReadSubmission reads an application from a JSON file such as the
// examples/ folder holds.
func ReadSubmission(t testing.TB, file string) intake.Submission {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sub intake.Submission
	if err := json.Unmarshal(raw, &sub); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return sub
}

// Submit sends sub on the intake topic of brokers, as the portal does, and
// returns the receipt the applicant gets.
func Submit(t testing.TB, brokers []string, sub intake.Submission) intake.Receipt {
	t.Helper()
	w := kafkabus.NewWriter(brokers, events.TopicIntake)
	defer w.Close()
	rc, err := intake.Submit(context.Background(), w, sub, time.Now())
	if err != nil {
		t.Fatalf("submit %s: %v", sub.Procedure, err)
	}
	return rc
}

// AwaitMilestone waits until the projection shows the application at the
// milestone.
func AwaitMilestone(t testing.TB, d *devstack.Dev, ref, milestone string) {
	t.Helper()
	st, err := d.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(Wait)
	for time.Now().Before(deadline) {
		s, err := st.ApplicationStatus(context.Background(), ref)
		if err == nil && s.Milestone != nil && s.Milestone.ID == milestone {
			return
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("application %s never reached milestone %s", ref, milestone)
}

// OpenTask waits until the application's workflow has an open task and
// returns it.
func OpenTask(t testing.TB, d *devstack.Dev, ref string) contract.TaskView {
	t.Helper()
	c, err := d.Stack.Temporal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(Wait)
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

// CompleteTask claims and completes the application's open task at step
// as a clerk of stadt-erfurt with role, submitting data as the form.
func CompleteTask(t testing.TB, d *devstack.Dev, ref, step, role, data string) {
	t.Helper()
	task := OpenTask(t, d, ref)
	if task.Step != step {
		t.Fatalf("%s: the open task is at step %q, want %q", ref, task.Step, step)
	}
	pc, err := d.Stack.Procedures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clerk := contract.Actor{Subject: "c.clerk", Tenant: "stadt-erfurt", Roles: []string{role}}
	ctx := context.Background()
	if _, err := pc.Claim(ctx, ref, contract.TaskRequest{TaskID: task.ID, Actor: clerk}); err != nil {
		t.Fatalf("claim %s: %v", task.ID, err)
	}
	if _, err := pc.Complete(ctx, ref, contract.CompleteRequest{TaskID: task.ID, Actor: clerk, Data: json.RawMessage(data)}); err != nil {
		t.Fatalf("complete %s: %v", task.ID, err)
	}
}

// SubmitAwaiting submits sub to the stack's intake topic and waits until
// the application is at milestone (AwaitMilestone).
func SubmitAwaiting(t testing.TB, d *devstack.Dev, sub intake.Submission, milestone string) intake.Receipt {
	t.Helper()
	rc := Submit(t, d.Brokers, sub)
	AwaitMilestone(t, d, rc.Reference, milestone)
	return rc
}
