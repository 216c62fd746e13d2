package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/instancemigration"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// The scenario's files: the target version (bauantrag 1.0.0 with the draft
// step renamed and a step added) and the plan.
const (
	migrationTarget = "../../definitions/migration/testdata/bauantrag-1.1.0.yaml"
	migrationPlan   = "../../definitions/migration/testdata/bauantrag-1.0.0-to-1.1.0.yaml"
)

// Stages the scenario's building permits wait at when the plan runs.
const (
	stageDocuments     = "documents"     // unterlagen-nachreichen: a wait with a running legal deadline
	stageParticipation = "participation" // beteiligung: the municipality's task, its branch timer and the decision clock running
	stageApproval      = "approval"      // entscheidung-entwerfen: the draft awaits the four-eyes approval
)

var (
	clerkJan   = contract.Actor{Subject: "jan", Tenant: "lra-musterland", Roles: []string{"sachbearbeitung"}}
	leadBernd  = contract.Actor{Subject: "bernd", Tenant: "lra-musterland", Roles: []string{"sachgebietsleitung"}}
	checkOK    = `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`
	checkShort = `{"verfahren": "vereinfacht", "vollstaendig": false, "fehlendeUnterlagen": ["Standsicherheitsnachweis"], "behoerden": []}`
)

// before is what an instance looked like before the migration.
type before struct {
	stage string
	tasks map[string]contract.TaskView // open tasks by id
	clock contract.ClockView           // the decision period
}

// TestMigrateRunningBuildingPermits: 100 building permits of bauantrag
// 1.0.0 run on the real stack, a third each waiting for documents, in the
// participation and awaiting the four-eyes approval of the draft. The plan
// moves them to 1.1.0; the run is stopped midway (its context cancelled
// after 40 instances) and run again, which continues. Every instance
// then runs 1.1.0 (the participating ones once their participation ended),
// keeps its open tasks (same ids, same due dates) and its running periods
// (never earlier), has one audit entry of the move, and ends correctly.
func TestMigrateRunningBuildingPermits(t *testing.T) {
	dir := e2e.DataDir(t)
	// The applications are received on 20 November 2026 and take the
	// version valid then (1.0.0), not the one of the e2e stacks' day.
	d := e2e.StartOn(t, dir, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	defer d.Stop()
	ctx := context.Background()
	st, err := d.Stack.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := d.Stack.Temporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := d.Stack.Procedures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(migrationTarget)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&registry.Deployer{Store: st}).Deploy(ctx, "bauantrag-1.1.0.yaml", src, "migration-test"); err != nil {
		t.Fatalf("deploy the target version: %v", err)
	}

	// 100 applications, received on 20 November 2026, when 1.0.0 applied.
	const n = 100
	sub := e2e.ReadSubmission(t, "../../examples/bauantrag.json")
	w := kafkabus.NewWriter(d.Brokers, events.TopicIntake)
	defer w.Close()
	refs := make([]string, n)
	stage := map[string]string{}
	for i := range n {
		rc, err := intake.Submit(ctx, w, sub, time.Date(2026, 11, 20, 10, 0, i, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = rc.Reference
		stage[rc.Reference] = []string{stageDocuments, stageParticipation, stageApproval}[i%3]
	}
	sort.Strings(refs)

	start := time.Now()
	forEach(t, refs, func(ref string) error {
		if err := complete(ctx, tc, pc, ref, "eingangspruefung-vereinfacht", clerkJan, map[string]string{
			stageDocuments: checkShort, stageParticipation: checkOK, stageApproval: checkOK}[stage[ref]]); err != nil {
			return err
		}
		if stage[ref] != stageApproval {
			return nil
		}
		for _, s := range []struct{ step, data string }{
			{"beteiligung/gemeinde/gemeinde-einvernehmen", `{"erteilt": true}`},
			{"pruefung", `{"ergebnis": "entscheidungsreif", "fehlendeUnterlagen": []}`},
			{"entscheidung-entwerfen", `{"ergebnis": "genehmigung", "nebenbestimmungen": [], "begruendung": ""}`},
		} {
			if err := complete(ctx, tc, pc, ref, s.step, clerkJan, s.data); err != nil {
				return err
			}
		}
		return nil
	})
	// Wait until each is where its stage says, and note its tasks and
	// periods.
	was := map[string]*before{}
	var mu sync.Mutex
	forEach(t, refs, func(ref string) error {
		v, err := awaitState(ctx, tc, ref, func(v contract.StateView) bool {
			switch stage[ref] {
			case stageDocuments:
				return v.At == "unterlagen-nachreichen" && v.Waiting
			case stageParticipation:
				return v.At == "beteiligung" && openAt(v, "beteiligung/gemeinde/gemeinde-einvernehmen")
			default:
				return v.At == "entscheidung-entwerfen" && v.Waiting && openAt(v, "entscheidung-entwerfen")
			}
		})
		if err != nil {
			return err
		}
		b := &before{stage: stage[ref], tasks: map[string]contract.TaskView{}, clock: v.Clocks["entscheidungsfrist"]}
		for _, tk := range v.Tasks {
			if tk.Status == contract.TaskOpen || tk.Status == contract.TaskClaimed {
				b.tasks[tk.ID] = tk
			}
		}
		mu.Lock()
		was[ref] = b
		mu.Unlock()
		return nil
	})
	t.Logf("100 building permits at their stages in %s", time.Since(start).Round(time.Second))

	planSrc, err := os.ReadFile(migrationPlan)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := instancemigration.Load(ctx, st, migrationPlan, planSrc)
	if err != nil {
		t.Fatal(err)
	}
	runner := &instancemigration.Runner{Store: st, Temporal: tc, Actor: "migration-test", Settle: time.Minute}

	// The dry run: everything would move, a third at its next step.
	rep, err := runner.DryRun(ctx, plan, "")
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]int{}
	for _, it := range rep.Move {
		verdicts[it.Verdict]++
		if it.Verdict == instancemigration.WouldMove && stage[it.Reference] == stageApproval && it.To != "bescheid-entwerfen" {
			t.Errorf("%s would move to %s, want bescheid-entwerfen", it.Reference, it.To)
		}
	}
	if len(rep.Cannot) != 0 || verdicts[instancemigration.WouldMove] != 67 || verdicts[instancemigration.WouldSchedule] != 33 {
		t.Fatalf("dry run: %v, cannot %+v; want 67 to move now and 33 at their next step", verdicts, rep.Cannot)
	}
	if _, err := st.MigrationRunByID(ctx, plan.ID); err == nil {
		t.Fatal("the dry run recorded a run")
	}

	// The run, stopped after 40 instances.
	runCtx, stop := context.WithCancel(ctx)
	recorded := 0
	runner.OnItem = func(instancemigration.Item) {
		recorded++
		if recorded == 40 {
			stop()
		}
	}
	if _, err := runner.Run(runCtx, plan); err == nil {
		t.Fatal("the stopped run reported success")
	}
	items, err := st.MigrationItems(ctx, plan.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) < 40 || len(items) >= n {
		t.Fatalf("%d instances recorded by the stopped run, want 40 up to one batch more", len(items))
	}
	// Resume: the same plan continues.
	runner.OnItem = nil
	prog, err := runner.Run(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if !prog.Resumed || prog.Counts[store.MigrationMoved] != 67 || prog.Counts[store.MigrationScheduled] != 33 {
		t.Fatalf("resumed run: resumed %v, counts %v", prog.Resumed, prog.Counts)
	}

	// Every moved instance runs 1.1.0 and kept its open tasks and dates;
	// the participating ones are scheduled.
	forEach(t, refs, func(ref string) error {
		b := was[ref]
		v, err := state(ctx, tc, ref)
		if err != nil {
			return err
		}
		if b.stage == stageParticipation {
			if v.Definition.Version != "1.0.0" || v.Migrations[plan.ID].Status != contract.MigrationScheduled {
				return fmt.Errorf("%s in the participation: version %s, migration %+v; want scheduled on 1.0.0", ref, v.Definition.Version, v.Migrations[plan.ID])
			}
			return nil
		}
		if v.Definition.Version != "1.1.0" {
			return fmt.Errorf("%s runs %s after the migration", ref, v.Definition.Version)
		}
		return sameTasksAndDates(ref, b, v)
	})

	// Every instance goes on to its end on 1.1.0.
	forEach(t, refs, func(ref string) error { return finish(ctx, tc, pc, ref, stage[ref]) })
	forEach(t, refs, func(ref string) error {
		want := map[string]string{stageDocuments: "permit-free", stageParticipation: "objection", stageApproval: "objection"}[stage[ref]]
		var res contract.Result
		if err := tc.GetWorkflow(ctx, contract.WorkflowID(ref), "").Get(ctx, &res); err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		if res.Outcome != want {
			return fmt.Errorf("%s (%s) ended %q, want %q", ref, stage[ref], res.Outcome, want)
		}
		return nil
	})
	// One audit entry of the move per instance, in its audit trail.
	forEach(t, refs, func(ref string) error {
		entries, err := awaitAudit(ctx, st, ref)
		if err != nil {
			return err
		}
		if entries != 1 {
			return fmt.Errorf("%s has %d audit entries of the migration, want 1", ref, entries)
		}
		return nil
	})
	// The citizen's and the clerks' projections show the version each
	// procedure ended on.
	forEach(t, refs, func(ref string) error {
		deadline := time.Now().Add(time.Minute)
		for {
			a, err := st.ApplicationStatus(ctx, ref)
			if err == nil && a.Version == "1.1.0" {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: projected version %q (%v), want 1.1.0", ref, a.Version, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Logf("scenario done in %s", time.Since(start).Round(time.Second))
}

func sameTasksAndDates(ref string, b *before, v contract.StateView) error {
	now := map[string]contract.TaskView{}
	for _, tk := range v.Tasks {
		if tk.Status == contract.TaskOpen || tk.Status == contract.TaskClaimed {
			now[tk.ID] = tk
		}
	}
	if len(now) != len(b.tasks) {
		return fmt.Errorf("%s: open tasks %v after the migration, %v before", ref, now, b.tasks)
	}
	for id, tk := range b.tasks {
		got, ok := now[id]
		if !ok || got.Due != tk.Due || got.Role != tk.Role || got.Assignee != tk.Assignee {
			return fmt.Errorf("%s: task %s was %+v, is %+v", ref, id, tk, got)
		}
	}
	c := v.Clocks["entscheidungsfrist"]
	if b.clock.Due != "" && c.Due < b.clock.Due {
		return fmt.Errorf("%s: the decision period moved earlier, from %s to %s", ref, b.clock.Due, c.Due)
	}
	if c.State != b.clock.State || c.PausedDays != b.clock.PausedDays {
		return fmt.Errorf("%s: the decision period was %+v, is %+v", ref, b.clock, c)
	}
	return nil
}

// finish drives one instance to its end on 1.1.0.
func finish(ctx context.Context, tc client.Client, pc *procclient.Client, ref, stage string) error {
	signal := func(id, typ, data string) error {
		return pc.Signal(ctx, ref, contract.ApplicantEvent{ID: ref + "-" + id, Type: typ, Data: json.RawMessage(data), Time: time.Now()})
	}
	steps := []struct{ step, data string }{}
	switch stage {
	case stageDocuments:
		// The documents lead to the step 1.1.0 added, then the check
		// again; the clerk finds the project exempt.
		if err := signal("docs", "de.amtsweg.applicant.documents-submitted.v1", `{"dokumente": [{"art": "standsicherheitsnachweis", "datei": "statik.pdf"}]}`); err != nil {
			return err
		}
		steps = append(steps, struct{ step, data string }{"nachreichung-sichten", `{"gesichtet": true}`},
			struct{ step, data string }{"eingangspruefung-vereinfacht", `{"verfahren": "genehmigungsfreistellung", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`})
	case stageParticipation:
		// The municipality refuses; the instance moves when the
		// participation ends, and the rejection is drafted on 1.1.0.
		steps = append(steps, struct{ step, data string }{"beteiligung/gemeinde/gemeinde-einvernehmen", `{"erteilt": false, "begruendung": "Planungsrecht"}`},
			struct{ step, data string }{"ablehnung-entwerfen", `{"ergebnis": "ablehnung", "nebenbestimmungen": [], "begruendung": "Das Einvernehmen ist versagt (§ 36 BauGB)."}`},
			struct{ step, data string }{"ablehnung-entwerfen#approval", `{"approved": true}`})
	case stageApproval:
		steps = append(steps, struct{ step, data string }{"bescheid-entwerfen#approval", `{"approved": true}`})
	}
	for _, s := range steps {
		actor := clerkJan
		if len(s.step) > 9 && s.step[len(s.step)-9:] == "#approval" {
			actor = leadBernd
		}
		if err := complete(ctx, tc, pc, ref, s.step, actor, s.data); err != nil {
			return err
		}
	}
	if stage == stageDocuments {
		return nil
	}
	if stage == stageParticipation {
		if v, err := state(ctx, tc, ref); err != nil || v.Definition.Version != "1.1.0" {
			return fmt.Errorf("%s did not move after its participation: %+v, %v", ref, v.Definition, err)
		}
	}
	if _, err := awaitState(ctx, tc, ref, func(v contract.StateView) bool { return v.At == "zustellung" && v.Waiting }); err != nil {
		return err
	}
	if err := signal("served", "de.amtsweg.applicant.notice-delivered.v1", fmt.Sprintf(`{"zugestelltAm": %q, "art": "abholbestaetigung"}`, time.Now().Format(time.DateOnly))); err != nil {
		return err
	}
	if _, err := awaitState(ctx, tc, ref, func(v contract.StateView) bool {
		return (v.At == "widerspruchsfrist-genehmigung" || v.At == "widerspruchsfrist-ablehnung") && v.Waiting
	}); err != nil {
		return err
	}
	return signal("objection", "de.amtsweg.applicant.objection-submitted.v1", `{"begruendung": "Ich widerspreche."}`)
}

// complete waits until the instance has an open task at step (an approval
// when step ends in #approval) and completes it as actor.
func complete(ctx context.Context, tc client.Client, pc *procclient.Client, ref, step string, actor contract.Actor, data string) error {
	approval := false
	if len(step) > 9 && step[len(step)-9:] == "#approval" {
		step, approval = step[:len(step)-9], true
	}
	var task contract.TaskView
	if _, err := awaitState(ctx, tc, ref, func(v contract.StateView) bool {
		for _, tk := range v.Tasks {
			if tk.Step == step && tk.Approval == approval && (tk.Status == contract.TaskOpen || tk.Status == contract.TaskClaimed) {
				task = tk
				return true
			}
		}
		return false
	}); err != nil {
		return fmt.Errorf("task at %s: %w", step, err)
	}
	if _, err := pc.Complete(ctx, ref, contract.CompleteRequest{TaskID: task.ID, Actor: actor, Data: json.RawMessage(data)}); err != nil {
		return fmt.Errorf("%s: complete %s (%s): %w", ref, task.ID, step, err)
	}
	return nil
}

func openAt(v contract.StateView, step string) bool {
	for _, tk := range v.Tasks {
		if tk.Step == step && tk.Status == contract.TaskOpen {
			return true
		}
	}
	return false
}

func state(ctx context.Context, tc client.Client, ref string) (contract.StateView, error) {
	var v contract.StateView
	res, err := tc.QueryWorkflow(ctx, contract.WorkflowID(ref), "", contract.QueryState)
	if err == nil {
		err = res.Get(&v)
	}
	return v, err
}

// awaitState polls the instance's state until ok holds.
func awaitState(ctx context.Context, tc client.Client, ref string, ok func(contract.StateView) bool) (contract.StateView, error) {
	deadline := time.Now().Add(2 * e2e.Wait)
	var v contract.StateView
	var err error
	for time.Now().Before(deadline) {
		if v, err = state(ctx, tc, ref); err == nil && ok(v) {
			return v, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return v, fmt.Errorf("%s never got there (at %s, waiting %v, tasks %+v): %v", ref, v.At, v.Waiting, v.Tasks, err)
}

// awaitAudit counts the audit entries recording the migration of ref,
// once the projector applied the instance's events.
func awaitAudit(ctx context.Context, st *store.Store, ref string) (int, error) {
	deadline := time.Now().Add(e2e.Wait)
	for {
		entries, err := st.AuditEntries(ctx, ref)
		if err != nil {
			return 0, err
		}
		n, done := 0, false
		for _, e := range entries {
			var ev events.ProcedureEvent
			if json.Unmarshal(e.Payload, &ev) != nil {
				continue
			}
			if ev.Kind == events.KindTimeline && ev.Timeline != nil && ev.Timeline.Internal && ev.Actor == "migration-test" {
				n++
			}
			done = done || ev.Kind == events.KindCompleted
		}
		if done || time.Now().After(deadline) {
			return n, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// forEach runs f for every reference, a few at a time, and fails the test
// with every error.
func forEach(t *testing.T, refs []string, f func(ref string) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 10)
	for _, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(ref); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 5 {
			t.Errorf("... and %d more", len(errs)-5)
			break
		}
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}
