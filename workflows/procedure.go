package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// historyLimit is the history length after which the interpreter continues
// as new at the next step boundary, well below Temporal's hard limits.
// Input.HistoryLimit overrides it for one application (tests use a small
// one). The limit is part of the deterministic contract: lowering it would
// move the continue-as-new of a recorded history, so a change must be
// guarded by workflow.GetVersion like any other change of commands.
const historyLimit = 10_000

// ProcedureWorkflow interprets the pinned procedure definition for one
// application: it resolves the pinned definition by its content hash (see
// loadDefinition), then walks its steps, publishing a domain event for
// every state change.
func ProcedureWorkflow(ctx workflow.Context, in Input) (contract.Result, error) {
	r := newRun(ctx, in)
	// Handlers come first: an Update that arrives while the definition
	// loads is answered (there is no such task yet) instead of being refused
	// as unknown. Registering them issues no command.
	if err := r.registerHandlers(ctx); err != nil {
		return contract.Result{}, err
	}
	if err := r.load(ctx); err != nil {
		return contract.Result{}, err
	}
	return r.execute(ctx)
}

// run is the state of one interpretation. Everything in State survives
// continue-as-new; the rest is rebuilt.
type run struct {
	State
	in     Input
	def    *definitions.Procedure
	steps  map[string]*definitions.Step // top-level flow
	outbox []*events.ProcedureEvent
	// flushed is the highest seq known to be published.
	flushed int64
	closing bool
	// publisherDone is set when the publisher coroutine has exited.
	publisherDone bool
	// clockVersion changes whenever a clock changes, to wake watchClocks.
	clockVersion int
	tasks        map[string]*task
	// retry holds the steps an operator asked to retry.
	retry map[string]bool
	// waits are the running dated waits a clerk may extend, by deadline id.
	waits map[string]*activeWait
	// reopen is the open reopen window of an ended procedure (reopen.go).
	reopen *reopenWindow
	// stepsRun counts the top-level steps entered in this run (not carried
	// across continue-as-new): a run continues as new only after it made
	// progress, so a limit below a fresh run's history cannot loop.
	stepsRun int
	// migration is the migration requested and not yet made; handover
	// the one prepared at a safe point (migrate.go).
	migration *contract.MigrateRequest
	handover  *handover
	// waitingAt is the top-level step whose task or wait the run awaits
	// (a safe point to migrate), "" otherwise.
	waitingAt string
	// carryTaken is set once the step a migrated run resumes at took
	// over what the previous run handed over.
	carryTaken bool
	logger     interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
}

// State is the interpreter state carried across continue-as-new.
type State struct {
	Seq        int64                     `json:"seq"`
	Vars       map[string]any            `json:"vars"`
	Next       string                    `json:"next"`
	TaskSeq    int                       `json:"taskSeq"`
	Milestone  string                    `json:"milestone,omitempty"`
	Clocks     map[string]*clockState    `json:"clocks,omitempty"`
	Pending    []contract.ApplicantEvent `json:"pending,omitempty"`
	SeenEvents map[string]bool           `json:"seenEvents,omitempty"`
	Visits     map[string]int            `json:"visits,omitempty"`
	Incidents  map[string]incidentInfo   `json:"incidents,omitempty"`
	// Notices are the delivery records of the acts issued, by notice id.
	Notices map[string]*noticeState `json:"notices,omitempty"`
	// Migrations records the migration plans the instance was asked to
	// make, by plan id, so a re-run of a plan recognises it.
	Migrations map[string]*migrationRecord `json:"migrations,omitempty"`
	// FinalFrom is the last day of the last dated period that expired: a
	// reopen window (§ 60 (3) VwGO) counts from it.
	FinalFrom string `json:"finalFrom,omitempty"`
}

// initMaps makes the maps a run writes to. State crosses continue-as-new as
// JSON, where an empty map (omitempty) arrives as nil.
func (s *State) initMaps() {
	if s.Vars == nil {
		s.Vars = map[string]any{}
	}
	if s.Clocks == nil {
		s.Clocks = map[string]*clockState{}
	}
	if s.SeenEvents == nil {
		s.SeenEvents = map[string]bool{}
	}
	if s.Visits == nil {
		s.Visits = map[string]int{}
	}
	if s.Incidents == nil {
		s.Incidents = map[string]incidentInfo{}
	}
	if s.Notices == nil {
		s.Notices = map[string]*noticeState{}
	}
	if s.Migrations == nil {
		s.Migrations = map[string]*migrationRecord{}
	}
}

type incidentInfo struct {
	Message string `json:"message"`
}

func newRun(ctx workflow.Context, in Input) *run {
	r := &run{
		in:     in,
		tasks:  map[string]*task{},
		retry:  map[string]bool{},
		waits:  map[string]*activeWait{},
		logger: workflow.GetLogger(ctx),
	}
	r.State.initMaps()
	return r
}

// load reads the pinned definition (see loadDefinition) and sets up the
// state: fresh, or carried over by continue-as-new.
func (r *run) load(ctx workflow.Context) error {
	in := r.in
	def, err := r.loadDefinition(ctx)
	if err != nil {
		return err
	}
	r.def = def
	r.steps = indexSteps(def.Steps)
	if in.Resume != nil {
		r.State = *in.Resume
		r.flushed = r.Seq
		r.State.initMaps()
	} else {
		r.State = State{
			Vars:       map[string]any{},
			Next:       def.Start,
			Clocks:     map[string]*clockState{},
			SeenEvents: map[string]bool{},
			Visits:     map[string]int{},
			Incidents:  map[string]incidentInfo{},
			Notices:    map[string]*noticeState{},
			Migrations: map[string]*migrationRecord{},
		}
		r.Vars["application"] = decodeJSON(in.Payload)
		r.Vars["applicant"] = decodeJSON(in.Applicant)
		r.Vars["reference"] = in.Reference
		r.Vars["tenant"] = in.Tenant
	}
	return nil
}

func indexSteps(steps []definitions.Step) map[string]*definitions.Step {
	m := make(map[string]*definitions.Step, len(steps))
	for i := range steps {
		m[steps[i].ID] = &steps[i]
	}
	return m
}

func decodeJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return map[string]any{}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return map[string]any{}
	}
	return v
}

func (r *run) execute(ctx workflow.Context) (contract.Result, error) {
	workflow.Go(ctx, r.publisher)
	workflow.Go(ctx, r.receiveApplicantEvents)
	workflow.Go(ctx, r.watchClocks)

	if r.in.Resume == nil {
		r.emitReceived(ctx)
	}
	if r.in.Migrated != nil && workflow.GetVersion(ctx, migratedEventChange, workflow.DefaultVersion, 1) == 1 {
		r.emitMigrated(ctx)
	}
	if err := r.applyCarriedClocks(ctx); err != nil {
		return contract.Result{}, err
	}
	for {
		res, again, err := r.execOnce(ctx)
		if !again {
			return res, err
		}
	}
}

// execOnce runs the top-level flow from r.Next to an end step; again
// reports that an operator reopened the procedure there (see reopen.go).
func (r *run) execOnce(ctx workflow.Context) (contract.Result, bool, error) {
	res, err := r.execFlow(ctx)
	if err != nil {
		return res, false, err
	}
	reopened, err := r.endAndMaybeReopen(ctx, res.Outcome)
	if errors.Is(err, errWindowCancelled) {
		// Cancelled while it could be reopened: the outcome stands.
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		return res, false, r.drain(dctx, true)
	}
	if err != nil {
		return contract.Result{}, false, err
	}
	if reopened {
		return contract.Result{}, true, nil
	}
	return res, false, r.drain(ctx, false)
}

// execFlow runs the top-level flow; a Result with an outcome means it
// reached an end step whose outcome is not published yet.
func (r *run) execFlow(ctx workflow.Context) (contract.Result, error) {
	outcome, err := r.runFlow(ctx, r.steps, r.Next, "", r.Vars, true)
	if errors.Is(err, errMigrate) {
		return r.continueMigrated(ctx)
	}
	if errors.Is(err, errContinueAsNew) {
		if err := r.handOver(ctx); err != nil {
			return contract.Result{}, err
		}
		next := r.in
		next.Migrated = nil
		st := r.State
		next.Resume = &st
		return contract.Result{}, workflow.NewContinueAsNewError(ctx, contract.WorkflowName, next)
	}
	if temporal.IsCanceledError(err) || errors.Is(err, workflow.ErrCanceled) {
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		r.finish(dctx, "cancelled", definitions.Text{De: "Verfahren abgebrochen", En: "Procedure cancelled"})
		if derr := r.drain(dctx, true); derr != nil {
			return contract.Result{}, derr
		}
		return contract.Result{Outcome: "cancelled"}, err
	}
	if err != nil {
		return contract.Result{}, err
	}
	return contract.Result{Outcome: outcome}, nil
}

var errContinueAsNew = errors.New("continue as new")

// errMigrate unwinds the run to continue as new on another definition
// version (migrate.go).
var errMigrate = errors.New("migrate to another definition version")

// handOver publishes what is left and lets the Update handlers finish
// before the run continues as new, taking the signals that arrived
// meanwhile into State so that nothing is lost across the new run.
func (r *run) handOver(ctx workflow.Context) error {
	r.drainSignals(ctx)
	if err := r.drain(ctx, false); err != nil {
		return err
	}
	// Let Update handlers still waiting for their events to be
	// published answer in this run, and take the signals that arrived
	// while draining.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	r.drainSignals(ctx)
	return nil
}

// runFlow walks a flow (the top level, a parallel branch or a for-each body)
// from start until an end step, and returns that step's outcome. prefix
// qualifies step paths inside branches ("participation/fire/").
func (r *run) runFlow(ctx workflow.Context, steps map[string]*definitions.Step, start, prefix string, vars map[string]any, top bool) (string, error) {
	id := start
	for {
		if top {
			r.Next = id
			if r.atBoundary(ctx, id) {
				return "", errMigrate
			}
			if r.mayContinueAsNew(ctx) {
				return "", errContinueAsNew
			}
		}
		step, ok := steps[id]
		if !ok {
			return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %q does not exist in %s %s", prefix+id, r.def.Key, r.def.Version), "BadDefinition", nil)
		}
		path := prefix + id
		if top {
			r.stepsRun++
		}
		if c := r.in.Migrated; top && c != nil && c.Entered && !r.carryTaken && c.Step == id {
			// A migrated run resumes the step the previous run waited in:
			// it was entered there (visit, timeline, clocks); only a
			// milestone the target version gives the step is new.
			r.enterMilestone(ctx, step, path)
		} else {
			r.Visits[path]++
			if err := r.enter(ctx, step, path, vars); err != nil {
				return "", err
			}
		}
		if step.Type == definitions.StepEnd {
			return step.Outcome, nil
		}
		next, err := r.runStep(ctx, step, path, vars)
		if err != nil {
			return "", err
		}
		id = next
	}
}

// mayContinueAsNew reports whether the history is long enough to continue as
// new. It is only asked at top-level step boundaries, where the whole state
// is in State: no branch, task or wait is active then. A run that has not
// entered a step yet never continues as new.
func (r *run) mayContinueAsNew(ctx workflow.Context) bool {
	if r.stepsRun == 0 {
		return false
	}
	limit := historyLimit
	if r.in.HistoryLimit > 0 {
		limit = r.in.HistoryLimit
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > limit
}

// enter applies what every step does on entry: milestone, timeline, clocks.
func (r *run) enter(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) error {
	r.enterMilestone(ctx, step, path)
	if step.Timeline.De != "" {
		r.emit(ctx, events.KindTimeline, path, func(e *events.ProcedureEvent) {
			e.Timeline = &events.TimelineEntry{Text: text(step.Timeline)}
		})
	}
	if err := r.clocksOnEnter(ctx, step.ID, vars); err != nil {
		return err
	}
	return r.extendClockOnEnter(ctx, step)
}

// enterMilestone announces the step's milestone when it changes.
func (r *run) enterMilestone(ctx workflow.Context, step *definitions.Step, path string) {
	if step.Milestone != "" && step.Milestone != r.Milestone {
		for _, m := range r.def.Milestones {
			if m.ID == step.Milestone {
				r.Milestone = m.ID
				r.emit(ctx, events.KindMilestone, path, func(e *events.ProcedureEvent) {
					e.Milestone = &events.MilestoneInfo{ID: m.ID, Title: text(m.Title), Description: text(m.Description)}
				})
			}
		}
	}
}

func (r *run) runStep(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	switch step.Type {
	case definitions.StepService:
		return r.withNotice(ctx, step, path, vars, r.runService)
	case definitions.StepTask:
		return r.withNotice(ctx, step, path, vars, r.runTask)
	case definitions.StepWait:
		return r.runWait(ctx, step, path, vars)
	case definitions.StepDecision:
		return r.runDecision(ctx, r.scope(ctx, vars), step, path)
	case definitions.StepParallel:
		return r.runParallel(ctx, step, path, vars)
	case definitions.StepForEach:
		return r.runForEach(ctx, step, path, vars)
	case definitions.StepSubProcedure:
		return r.runSubProcedure(ctx, step, path, vars)
	}
	return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s has unknown type %q", path, step.Type), "BadDefinition", nil)
}

// withNotice runs a service or task step and, when it completes on its
// normal path, records the notice the step issues.
func (r *run) withNotice(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any,
	run func(workflow.Context, *definitions.Step, string, map[string]any) (string, error)) (string, error) {
	next, err := run(ctx, step, path, vars)
	if err != nil || step.Notice == nil || next != step.Next {
		return next, err
	}
	return next, r.issueNotice(ctx, step, path, vars)
}

func (r *run) runDecision(ctx workflow.Context, vars map[string]any, step *definitions.Step, path string) (string, error) {
conditions:
	for i := 0; i < len(step.Conditions); i++ {
		c := step.Conditions[i]
		ok, err := evalBool(c.When, vars)
		if err != nil {
			retry, err := r.expressionFailed(ctx, path, fmt.Sprintf("step %s condition %d: %v", path, i+1, err), err)
			if !retry {
				return "", err
			}
			i = -1 // evaluate all conditions again
			continue conditions
		}
		if ok {
			return c.Next, nil
		}
	}
	if step.Default == "" {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s: no condition holds and there is no default", path), "NoBranch", nil)
	}
	return step.Default, nil
}

// finish records the procedure's outcome and stops its clocks.
func (r *run) finish(ctx workflow.Context, outcome string, title definitions.Text) {
	r.stopClocks(ctx, "met")
	r.emit(ctx, events.KindCompleted, "", func(e *events.ProcedureEvent) {
		e.Outcome = &events.OutcomeInfo{Outcome: outcome, Title: text(title)}
	})
}

func (r *run) emitReceived(ctx workflow.Context) {
	ms := r.milestoneInfos()
	r.emit(ctx, events.KindReceived, "", func(e *events.ProcedureEvent) {
		e.Actor = "applicant"
		e.Received = &events.Received{
			Procedure:        r.in.Definition.Key,
			Version:          r.in.Definition.Version,
			DefinitionHash:   r.in.Definition.Hash,
			AccessCodeSHA256: r.in.AccessCodeSHA256,
			ReceivedAt:       r.in.ReceivedAt,
			Title:            text(r.def.Title),
			Applicant:        r.in.Applicant,
			Payload:          r.in.Payload,
			Milestones:       ms,
		}
	})
}

// milestoneInfos lists the definition's public milestones in order.
func (r *run) milestoneInfos() []events.MilestoneInfo {
	ms := make([]events.MilestoneInfo, 0, len(r.def.Milestones))
	for _, m := range r.def.Milestones {
		ms = append(ms, events.MilestoneInfo{ID: m.ID, Title: text(m.Title), Description: text(m.Description)})
	}
	return ms
}

// migratedEventChange is the workflow.GetVersion change id of the
// migrated event: runs on a new version recorded before it publish none.
const migratedEventChange = "migrated-event"

// emitMigrated tells the projections that the procedure now runs on this
// run's version (the first thing a run that a migration plan started does).
func (r *run) emitMigrated(ctx workflow.Context) {
	ms := r.milestoneInfos()
	r.emit(ctx, events.KindMigrated, r.Next, func(e *events.ProcedureEvent) {
		e.Actor = "system"
		e.Migrated = &events.Migrated{
			Procedure:      r.in.Definition.Key,
			Version:        r.in.Definition.Version,
			DefinitionHash: r.in.Definition.Hash,
			FromVersion:    r.in.Migrated.From.Version,
			Plan:           r.in.Migrated.Plan,
			Title:          text(r.def.Title),
			Milestones:     ms,
		}
	})
}

// outcomeTitle is the title of the top-level end step with this outcome.
func (r *run) outcomeTitle(outcome string) definitions.Text {
	for _, s := range r.def.Steps {
		if s.Type == definitions.StepEnd && s.Outcome == outcome && s.Title.De != "" {
			return s.Title
		}
	}
	return definitions.Text{De: outcome, En: outcome}
}

func text(t definitions.Text) events.LocalText { return events.LocalText{De: t.De, En: t.En} }

// scope sets the variables the interpreter keeps current for expressions
// (expr.VarToday, expr.VarReceivedOn) in vars and returns vars. Both derive
// from workflow time and the start input, so replay evaluates the same.
func (r *run) scope(ctx workflow.Context, vars map[string]any) map[string]any {
	vars[expr.VarToday] = today(ctx)
	received := r.in.ReceivedAt
	if received.IsZero() {
		received = workflow.GetInfo(ctx).WorkflowStartTime
	}
	vars[expr.VarReceivedOn] = received.In(berlin).Format(time.DateOnly)
	r.scopeOptions(vars)
	return vars
}

// today is the workflow's current day at the authority's seat.
func today(ctx workflow.Context) string {
	return workflow.Now(ctx).In(berlin).Format(time.DateOnly)
}

var berlin = mustLocation("Europe/Berlin")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("time zone %s: %v (build with time/tzdata)", name, err))
	}
	return loc
}
