package instancemigration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/migration"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// Verdicts of the dry run per instance.
const (
	// WouldMove: the instance waits at a mapped step and moves at once.
	WouldMove = "move"
	// WouldSchedule: the instance is inside a step (participation, an
	// activity) and moves at its next top-level step, unless that step
	// cannot migrate.
	WouldSchedule = "schedule"
	// Cannot: the instance stays on its version (Reason says why).
	Cannot = "cannot"
	// Already: the instance runs on the target version.
	Already = "already"
)

// Plan is a migration plan checked against the deployed source and target
// versions, ready to run.
type Plan struct {
	*migration.Checked
	Source, Target definitions.Ref
	// SHA256 is the hash of the plan file.
	SHA256 string
}

// Request is the migrate-instance Update the plan sends, as actor.
func (p *Plan) Request(actor string) contract.MigrateRequest {
	req := contract.MigrateRequest{
		Plan: p.ID, Source: p.Source, Target: p.Target,
		Steps: p.Map, Blocked: p.Blocked,
		Tasks: p.TaskPolicy(), Timers: p.TimerPolicy(),
		Actor: contract.Actor{Subject: actor, Roles: []string{"operator"}},
	}
	for _, a := range p.Data {
		req.Data = append(req.Data, contract.MigrateAssign{Set: a.Set, Expr: a.Expr})
	}
	ids := make([]string, 0, len(p.Clocks))
	for id := range p.Clocks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if d := p.Clocks[id]; d.Policy != migration.DeadlineKeep {
			req.Clocks = append(req.Clocks, contract.MigrateClock{Clock: id, Policy: d.Policy, Reason: d.Reason})
		}
	}
	return req
}

// Load parses the plan file src and checks it against the deployed source
// and target versions (and the plugin catalog). Problems come back as a
// definitions.ErrorList with file and line.
func Load(ctx context.Context, st *store.Store, filename string, src []byte) (*Plan, error) {
	p, err := migration.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	srcRec, srcDef, err := deployed(ctx, st, p.Source.Key, p.Source.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: source: %w", filename, err)
	}
	dstRec, dstDef, err := deployed(ctx, st, p.Source.Key, p.Target.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: target: %w", filename, err)
	}
	catalog, err := registry.Catalog(ctx, st)
	if err != nil {
		return nil, err
	}
	checked, err := migration.Validate(p, srcDef, dstDef, definitions.ValidateOptions{Activities: catalog})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	return &Plan{
		Checked: checked,
		Source:  definitions.Ref{Key: srcRec.Key, Version: srcRec.Version, Hash: srcRec.Hash},
		Target:  definitions.Ref{Key: dstRec.Key, Version: dstRec.Version, Hash: dstRec.Hash},
		SHA256:  hex.EncodeToString(sum[:]),
	}, nil
}

func deployed(ctx context.Context, st *store.Store, key, version string) (store.DefinitionRecord, *definitions.Procedure, error) {
	rec, err := st.Definition(ctx, key, version)
	if errors.Is(err, store.ErrNotFound) {
		return rec, nil, fmt.Errorf("%s %s is not deployed; deploy it first (amtsweg definitions deploy)", key, version)
	}
	if err != nil {
		return rec, nil, err
	}
	var p definitions.Procedure
	if err := json.Unmarshal(rec.Model, &p); err != nil {
		return rec, nil, fmt.Errorf("definition %s %s: stored model: %w", key, version, err)
	}
	return rec, &p, nil
}

// Runner moves instances.
type Runner struct {
	Store    *store.Store
	Temporal client.Client
	Log      *slog.Logger
	// Actor names who runs the migration in every instance's audit entry.
	Actor string
	// Settle is how long the runner waits for a moved instance to answer
	// on the target version (default 30 s).
	Settle time.Duration
	// OnItem, when set, is told each instance's recorded outcome.
	OnItem func(Item)
}

// Item is one instance in a dry run or a run.
type Item struct {
	Reference string `json:"reference"`
	// Verdict (dry run) or Status (run: a store.Migration* status).
	Verdict string `json:"verdict,omitempty"`
	Status  string `json:"status,omitempty"`
	// At is the top-level step the instance is at; To where it moves.
	At     string `json:"at,omitempty"`
	To     string `json:"to,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// DryRunReport lists what a plan would do with every running instance.
type DryRunReport struct {
	Plan   string `json:"plan"`
	Source string `json:"source"`
	Target string `json:"target"`
	// Move are the instances it would move (now or at their next
	// top-level step); Cannot those that stay, with why.
	Move   []Item `json:"move"`
	Cannot []Item `json:"cannot"`
}

// DryRun asks every running instance of the plan's source version (of one
// authority; all when tenant is "") where it is and judges it against the
// plan, changing nothing.
func (r *Runner) DryRun(ctx context.Context, p *Plan, tenant string) (DryRunReport, error) {
	insts, err := r.Store.RunningInstances(ctx, p.Source.Key, p.Source.Version, tenant)
	if err != nil {
		return DryRunReport{}, err
	}
	refs := references(insts)
	rep := DryRunReport{Plan: p.ID, Source: p.Source.Key + " " + p.Source.Version, Target: p.Target.Version, Move: []Item{}, Cannot: []Item{}}
	items := r.parallel(ctx, refs, func(ctx context.Context, ref string) Item { return r.judge(ctx, p, ref) })
	for _, it := range items {
		switch it.Verdict {
		case WouldMove, WouldSchedule:
			rep.Move = append(rep.Move, it)
		case Already:
		default:
			rep.Cannot = append(rep.Cannot, it)
		}
	}
	return rep, ctx.Err()
}

// judge is the dry-run verdict for one instance.
func (r *Runner) judge(ctx context.Context, p *Plan, ref string) Item {
	it := Item{Reference: ref}
	v, err := r.state(ctx, ref)
	if err != nil {
		it.Verdict, it.Reason = Cannot, err.Error()
		return it
	}
	it.At = v.At
	switch {
	case v.Definition.Version == p.Target.Version:
		it.Verdict = Already
	case v.Definition.Version != p.Source.Version:
		it.Verdict, it.Reason = Cannot, fmt.Sprintf("runs version %s", v.Definition.Version)
	case v.Waiting:
		if to, ok := p.Map[v.At]; ok {
			it.Verdict, it.To = WouldMove, to
		} else {
			it.Verdict, it.Reason = Cannot, p.Blocked[v.At]
		}
	default:
		it.Verdict = WouldSchedule
		it.Reason = fmt.Sprintf("inside step %s; moves at its next top-level step", v.At)
		if why, blocked := p.Blocked[v.At]; blocked {
			it.Reason += " (" + why + ")"
		}
	}
	return it
}

func (r *Runner) state(ctx context.Context, ref string) (contract.StateView, error) {
	var v contract.StateView
	res, err := r.Temporal.QueryWorkflow(ctx, contract.WorkflowID(ref), "", contract.QueryState)
	if err != nil {
		return v, fmt.Errorf("ask %s where it is: %w", ref, err)
	}
	if err := res.Get(&v); err != nil {
		return v, fmt.Errorf("ask %s where it is: %w", ref, err)
	}
	return v, nil
}

// Progress is what a run did so far.
type Progress struct {
	Plan    string         `json:"plan"`
	Resumed bool           `json:"resumed"`
	Counts  map[string]int `json:"counts"`
	Items   []Item         `json:"items"`
}

// Run moves the running instances of the plan's source version in batches.
// Every instance's outcome is recorded as soon as it is known, so a run
// stopped midway (a crash, a cancelled ctx) continues when the same plan
// runs again: instances recorded as moved are skipped, the others asked
// (again). Asking an instance that already moved is harmless: it answers
// that it runs the target version.
func (r *Runner) Run(ctx context.Context, p *Plan) (Progress, error) {
	resumed, err := r.Store.BeginMigrationRun(ctx, store.MigrationRun{
		PlanID: p.ID, Procedure: p.Source.Key, SourceVersion: p.Source.Version, TargetVersion: p.Target.Version,
		PlanSHA256: p.SHA256, StartedBy: r.Actor,
	})
	if err != nil {
		return Progress{}, err
	}
	prog := Progress{Plan: p.ID, Resumed: resumed, Counts: map[string]int{}}
	done, err := r.Store.MigrationItems(ctx, p.ID, "")
	if err != nil {
		return prog, err
	}
	insts, err := r.Store.RunningInstances(ctx, p.Source.Key, p.Source.Version, "")
	if err != nil {
		return prog, err
	}
	refs := references(insts)
	moved := map[string]bool{}
	todo := map[string]bool{}
	for _, it := range done {
		if it.Status == store.MigrationMoved {
			moved[it.Reference] = true
		} else {
			todo[it.Reference] = true // scheduled, blocked, failed: ask again
		}
	}
	for _, ref := range refs {
		if !moved[ref] {
			todo[ref] = true
		}
	}
	list := make([]string, 0, len(todo))
	for ref := range todo {
		list = append(list, ref)
	}
	sort.Strings(list)
	r.log().Info("migration run", "plan", p.ID, "resumed", resumed, "instances", len(list), "alreadyMoved", len(moved))
	req := p.Request(r.Actor)
	for start := 0; start < len(list); start += p.Batch() {
		if err := ctx.Err(); err != nil {
			return prog, err
		}
		batch := list[start:min(start+p.Batch(), len(list))]
		items := r.parallel(ctx, batch, func(ctx context.Context, ref string) Item { return r.move(ctx, req, ref) })
		for _, it := range items {
			if ctx.Err() != nil && it.Status == store.MigrationFailed {
				continue // stopped: not recorded, asked again on resume
			}
			if err := r.Store.RecordMigrationItem(context.WithoutCancel(ctx), p.ID, store.MigrationItem{
				Reference: it.Reference, Status: it.Status, AtStep: it.At, Message: it.Reason}); err != nil {
				return prog, err
			}
			prog.Items = append(prog.Items, it)
			prog.Counts[it.Status]++
			if r.OnItem != nil {
				r.OnItem(it)
			}
		}
		r.log().Info("migration batch done", "plan", p.ID, "done", min(start+p.Batch(), len(list)), "of", len(list))
	}
	if err := ctx.Err(); err != nil {
		return prog, err
	}
	prog.Counts[store.MigrationMoved] += len(moved)
	if prog.Counts[store.MigrationScheduled] == 0 && prog.Counts[store.MigrationFailed] == 0 {
		return prog, r.Store.FinishMigrationRun(ctx, p.ID)
	}
	return prog, nil
}

// move asks one instance to move and waits until a moving instance runs on
// the target version.
func (r *Runner) move(ctx context.Context, req contract.MigrateRequest, ref string) Item {
	it := Item{Reference: ref}
	pc := procclient.Client{C: r.Temporal}
	res, err := pc.Migrate(ctx, ref, req)
	var rej *procclient.RejectedError
	switch {
	case errors.As(err, &rej):
		it.Status, it.Reason = store.MigrationBlocked, rej.Message
		return it
	case errors.Is(err, procclient.ErrFinished):
		it.Status, it.Reason = store.MigrationBlocked, "the procedure has ended"
		return it
	case err != nil:
		it.Status, it.Reason = store.MigrationFailed, err.Error()
		return it
	}
	it.At = res.At
	switch res.Status {
	case contract.MigrationDone:
		it.Status = store.MigrationMoved
		return it
	case contract.MigrationScheduled:
		it.Status, it.Reason = store.MigrationScheduled, "moves at its next top-level step"
		return it
	}
	// Moving: the run continues as new on the target version.
	settle := r.Settle
	if settle <= 0 {
		settle = 30 * time.Second
	}
	deadline := time.Now().Add(settle)
	for {
		v, err := r.state(ctx, ref)
		if err == nil && v.Definition.Version == req.Target.Version {
			it.Status, it.To = store.MigrationMoved, v.At
			return it
		}
		if err == nil {
			if m, ok := v.Migrations[req.Plan]; ok && m.Status == contract.MigrationFailed {
				it.Status, it.Reason = store.MigrationBlocked, m.Error
				return it
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			it.Status, it.Reason = store.MigrationFailed, fmt.Sprintf("did not answer on %s within %s; run the plan again", req.Target.Version, settle)
			return it
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// parallel runs f over refs with a few at a time, keeping the order.
func (r *Runner) parallel(ctx context.Context, refs []string, f func(context.Context, string) Item) []Item {
	out := make([]Item, len(refs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = f(ctx, ref)
		}()
	}
	wg.Wait()
	return out
}

func references(insts []store.Instance) []string {
	out := make([]string, len(insts))
	for i, in := range insts {
		out[i] = in.Reference
	}
	return out
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
