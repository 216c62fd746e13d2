package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/amtsweg/amtsweg/events"
)

// analyzeThreshold is the batch size from which the temporary table of
// fresh events is analysed, so the planner sees its real size when joining
// it with large read-model tables.
const analyzeThreshold = 2000

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidateEvent checks that e carries what applying its kind needs. The
// projector sends events that fail it to the dead-letter topic; ApplyEvents
// refuses a batch that contains one.
func ValidateEvent(e *events.ProcedureEvent) error {
	if e == nil {
		return fmt.Errorf("procedure event is nil")
	}
	if err := events.ValidateReference(e.Reference); err != nil {
		return fmt.Errorf("procedure event: %w", err)
	}
	id := fmt.Sprintf("procedure event %s/%d (%s)", e.Reference, e.Seq, e.Kind)
	switch {
	case e.Seq < 1:
		return fmt.Errorf("%s: seq must be 1 or more", id)
	case e.Tenant == "":
		return fmt.Errorf("%s: tenant is missing", id)
	case e.Time.IsZero():
		return fmt.Errorf("%s: time is missing", id)
	}
	detail := func(present bool, field string) error {
		if !present {
			return fmt.Errorf("%s: the %q detail is missing", id, field)
		}
		return nil
	}
	due := func(field, v string) error {
		if v == "" {
			return nil
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return fmt.Errorf("%s: %s %q is not a date (YYYY-MM-DD)", id, field, v)
		}
		return nil
	}
	switch e.Kind {
	case events.KindReceived:
		if err := detail(e.Received != nil, "received"); err != nil {
			return err
		}
		r := e.Received
		switch {
		case r.Procedure == "" || r.Version == "" || r.DefinitionHash == "":
			return fmt.Errorf("%s: received.procedure, version and definitionHash are required", id)
		case !sha256Hex.MatchString(r.AccessCodeSHA256):
			return fmt.Errorf("%s: received.accessCodeSha256 must be 64 lowercase hex digits", id)
		}
	case events.KindMilestone:
		if err := detail(e.Milestone != nil && e.Milestone.ID != "", "milestone"); err != nil {
			return err
		}
	case events.KindTimeline:
		if err := detail(e.Timeline != nil && e.Timeline.Text.De != "", "timeline"); err != nil {
			return err
		}
	case events.KindDeadline:
		if err := detail(e.Deadline != nil && e.Deadline.ID != "", "deadline"); err != nil {
			return err
		}
		switch e.Deadline.State {
		case "running", "paused", "met", "expired":
		default:
			return fmt.Errorf("%s: deadline.state %q is not one of running, paused, met, expired", id, e.Deadline.State)
		}
		if err := due("deadline.due", e.Deadline.Due); err != nil {
			return err
		}
	case events.KindTaskCreated, events.KindTaskClaimed, events.KindTaskReleased, events.KindTaskDelegated,
		events.KindTaskCompleted, events.KindTaskOverdue, events.KindTaskCancelled:
		if err := detail(e.Task != nil && e.Task.ID != "", "task"); err != nil {
			return err
		}
		if err := due("task.due", e.Task.Due); err != nil {
			return err
		}
	case events.KindRequestOpened, events.KindRequestClosed:
		if err := detail(e.Request != nil && e.Request.ID != "", "request"); err != nil {
			return err
		}
		switch e.Request.State {
		case "", "open", "fulfilled", "expired":
		default:
			return fmt.Errorf("%s: request.state %q is not one of open, fulfilled, expired", id, e.Request.State)
		}
		if err := due("request.due", e.Request.Due); err != nil {
			return err
		}
	case events.KindIncident:
		if err := detail(e.Incident != nil && (e.Incident.Step != "" || e.Step != ""), "incident"); err != nil {
			return err
		}
	case events.KindIncidentResolved:
	case events.KindMigrated:
		if err := detail(e.Migrated != nil, "migrated"); err != nil {
			return err
		}
		if m := e.Migrated; m.Procedure == "" || m.Version == "" || m.DefinitionHash == "" {
			return fmt.Errorf("%s: migrated.procedure, version and definitionHash are required", id)
		}
	case events.KindCompleted, events.KindReopened:
		if err := detail(e.Outcome != nil && e.Outcome.Outcome != "", "outcome"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: unknown kind %q; this projector knows %s (is it older than the workflow that sent the event?)",
			id, e.Kind, strings.Join(knownKinds, ", "))
	}
	return nil
}

var knownKinds = []string{
	string(events.KindReceived), string(events.KindMilestone), string(events.KindTimeline), string(events.KindDeadline),
	string(events.KindTaskCreated), string(events.KindTaskClaimed), string(events.KindTaskReleased),
	string(events.KindTaskDelegated), string(events.KindTaskCompleted), string(events.KindTaskOverdue),
	string(events.KindTaskCancelled), string(events.KindRequestOpened), string(events.KindRequestClosed),
	string(events.KindIncident), string(events.KindIncidentResolved), string(events.KindCompleted),
	string(events.KindReopened), string(events.KindMigrated),
}

// The temporary tables a batch passes through. amtsweg_incoming holds the
// batch as copied in, one row per event with the detail of its kind in
// typed columns (NULL where the kind has none); amtsweg_fresh holds the
// events that were new to procedure_events. round numbers the events of one
// task within the batch (1, 2, ...) so that they are applied in sequence.
const createTempTables = `
CREATE TEMP TABLE IF NOT EXISTS amtsweg_incoming (
    reference text NOT NULL, seq bigint NOT NULL, tenant text NOT NULL, kind text NOT NULL,
    time timestamptz NOT NULL, step text NOT NULL, actor text NOT NULL, payload jsonb NOT NULL,
    item_id text, title jsonb, description jsonb, state text, due date,
    public boolean, internal boolean, escalated boolean,
    role text, assignee text, form jsonb, data jsonb,
    approval boolean, approval_of text, approval_of_completed_by text, message text,
    procedure text, version text, definition_hash text, access_code bytea, received_at timestamptz,
    applicant jsonb, app_payload jsonb, milestones jsonb,
    position bigint, payload_sha256 bytea, prev_hash bytea, hash bytea,
    round integer NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS amtsweg_fresh (LIKE amtsweg_incoming) ON COMMIT DELETE ROWS;`

var incomingColumns = []string{
	"reference", "seq", "tenant", "kind", "time", "step", "actor", "payload",
	"item_id", "title", "description", "state", "due",
	"public", "internal", "escalated",
	"role", "assignee", "form", "data",
	"approval", "approval_of", "approval_of_completed_by", "message",
	"procedure", "version", "definition_hash", "access_code", "received_at",
	"applicant", "app_payload", "milestones",
	"position", "payload_sha256", "prev_hash", "hash",
	"round",
}

// The set-based statements that apply the fresh events, in order.
const (
	sqlInsertFresh = `
WITH ins AS (
    INSERT INTO procedure_events (reference, seq, tenant, kind, time, payload, position, payload_sha256, prev_hash, hash)
    SELECT reference, seq, tenant, kind, time, payload, position, payload_sha256, prev_hash, hash FROM amtsweg_incoming
    ON CONFLICT (reference, seq) DO NOTHING
    RETURNING reference, seq)
INSERT INTO amtsweg_fresh SELECT i.* FROM amtsweg_incoming i JOIN ins USING (reference, seq)`

	// One row write per application and batch: the received details, the
	// newest milestone and the outcome (each only if newer than what the row
	// has), and the fields derived from the tables updated before it: the
	// next public deadline and whether an incident is open. A reopened
	// event newer than the completion clears the outcome and makes the
	// application running again (completed_seq is the newest of either;
	// its outcome and completed_at are NULL for a reopening). The deadline
	// lookup orders instead of filtering so that it can only use the primary
	// key (an application has few deadlines).
	sqlApplications = `
WITH g AS (
    SELECT reference, min(tenant) AS tenant, max(seq) AS last_seq FROM amtsweg_fresh GROUP BY reference),
r AS (
    SELECT DISTINCT ON (reference) * FROM amtsweg_fresh WHERE kind = 'received' ORDER BY reference, seq),
m AS (
    SELECT DISTINCT ON (reference) reference, seq, item_id, title, description
    FROM amtsweg_fresh WHERE kind = 'milestone' ORDER BY reference, seq DESC),
c AS (
    SELECT DISTINCT ON (reference) reference, seq, kind, time, item_id, title
    FROM amtsweg_fresh WHERE kind IN ('completed', 'reopened') ORDER BY reference, seq DESC),
mg AS (
    SELECT DISTINCT ON (reference) reference, procedure, version, definition_hash, title, milestones
    FROM amtsweg_fresh WHERE kind = 'migrated' ORDER BY reference, seq DESC)
INSERT INTO applications AS a (reference, tenant, procedure, version, definition_hash, title, access_code_sha256,
    received_at, applicant, payload, milestones,
    milestone_id, milestone_title, milestone_description, milestone_seq,
    outcome, outcome_title, completed_at, completed_seq,
    next_deadline_id, next_deadline_due, next_deadline_title, status, last_seq)
SELECT g.reference, g.tenant, COALESCE(mg.procedure, r.procedure), COALESCE(mg.version, r.version),
    COALESCE(mg.definition_hash, r.definition_hash), COALESCE(mg.title, r.title), r.access_code,
    r.received_at, r.applicant, r.app_payload, COALESCE(mg.milestones, r.milestones, '[]'),
    m.item_id, m.title, m.description, COALESCE(m.seq, 0),
    CASE WHEN c.kind = 'completed' THEN c.item_id END, CASE WHEN c.kind = 'completed' THEN c.title END,
    CASE WHEN c.kind = 'completed' THEN c.time END, COALESCE(c.seq, 0),
    CASE WHEN nd.ok THEN nd.id END, CASE WHEN nd.ok THEN nd.due END, CASE WHEN nd.ok THEN nd.title END,
    CASE WHEN c.kind = 'completed' THEN 'completed'
         WHEN EXISTS (SELECT 1 FROM incidents i WHERE i.reference = g.reference AND i.state = 'open') THEN 'incident'
         ELSE 'running' END,
    g.last_seq
FROM g
LEFT JOIN r USING (reference)
LEFT JOIN m USING (reference)
LEFT JOIN c USING (reference)
LEFT JOIN mg USING (reference)
LEFT JOIN LATERAL (
    SELECT d.id, d.due, d.title, d.public AND d.state = 'running' AND d.due IS NOT NULL AS ok
    FROM deadlines d WHERE d.reference = g.reference
    ORDER BY 4 DESC, d.due, d.id LIMIT 1) nd ON true
ON CONFLICT (reference) DO UPDATE SET
    procedure             = COALESCE(EXCLUDED.procedure, a.procedure),
    version               = COALESCE(EXCLUDED.version, a.version),
    definition_hash       = COALESCE(EXCLUDED.definition_hash, a.definition_hash),
    title                 = COALESCE(EXCLUDED.title, a.title),
    access_code_sha256    = COALESCE(EXCLUDED.access_code_sha256, a.access_code_sha256),
    received_at           = COALESCE(EXCLUDED.received_at, a.received_at),
    applicant             = COALESCE(EXCLUDED.applicant, a.applicant),
    payload               = COALESCE(EXCLUDED.payload, a.payload),
    milestones            = CASE WHEN EXCLUDED.procedure IS NULL THEN a.milestones ELSE EXCLUDED.milestones END,
    milestone_id          = CASE WHEN EXCLUDED.milestone_seq > a.milestone_seq THEN EXCLUDED.milestone_id ELSE a.milestone_id END,
    milestone_title       = CASE WHEN EXCLUDED.milestone_seq > a.milestone_seq THEN EXCLUDED.milestone_title ELSE a.milestone_title END,
    milestone_description = CASE WHEN EXCLUDED.milestone_seq > a.milestone_seq THEN EXCLUDED.milestone_description ELSE a.milestone_description END,
    milestone_seq         = GREATEST(a.milestone_seq, EXCLUDED.milestone_seq),
    outcome               = CASE WHEN EXCLUDED.completed_seq > a.completed_seq THEN EXCLUDED.outcome ELSE a.outcome END,
    outcome_title         = CASE WHEN EXCLUDED.completed_seq > a.completed_seq THEN EXCLUDED.outcome_title ELSE a.outcome_title END,
    completed_at          = CASE WHEN EXCLUDED.completed_seq > a.completed_seq THEN EXCLUDED.completed_at ELSE a.completed_at END,
    completed_seq         = GREATEST(a.completed_seq, EXCLUDED.completed_seq),
    next_deadline_id      = EXCLUDED.next_deadline_id,
    next_deadline_due     = EXCLUDED.next_deadline_due,
    next_deadline_title   = EXCLUDED.next_deadline_title,
    status                = CASE WHEN EXCLUDED.completed_seq > a.completed_seq THEN EXCLUDED.status
                                 WHEN a.completed_at IS NOT NULL THEN 'completed' ELSE EXCLUDED.status END,
    last_seq              = GREATEST(a.last_seq, EXCLUDED.last_seq),
    updated_at            = now()`

	sqlTimeline = `
INSERT INTO timeline (reference, seq, time, text, internal)
SELECT reference, seq, time, title, internal FROM amtsweg_fresh WHERE kind = 'timeline'
ON CONFLICT (reference, seq) DO NOTHING`

	sqlDeadlines = `
INSERT INTO deadlines AS d (reference, id, tenant, title, state, due, public, last_seq)
SELECT DISTINCT ON (reference, item_id) reference, item_id, tenant, title, state, due, public, seq
FROM amtsweg_fresh WHERE kind = 'deadline' ORDER BY reference, item_id, seq DESC
ON CONFLICT (reference, id) DO UPDATE SET
    title = COALESCE(EXCLUDED.title, d.title), state = EXCLUDED.state, due = EXCLUDED.due,
    public = EXCLUDED.public, last_seq = EXCLUDED.last_seq, updated_at = now()
WHERE d.last_seq < EXCLUDED.last_seq`

	sqlRequests = `
INSERT INTO requests AS q (reference, id, tenant, text, due, state, opened_at, closed_at, last_seq)
SELECT reference, item_id, min(tenant),
    (array_agg(title ORDER BY seq DESC) FILTER (WHERE title IS NOT NULL))[1],
    (array_agg(due ORDER BY seq DESC) FILTER (WHERE due IS NOT NULL))[1],
    (array_agg(state ORDER BY seq DESC))[1],
    min(time) FILTER (WHERE kind = 'request-opened'),
    max(time) FILTER (WHERE kind = 'request-closed'),
    max(seq)
FROM amtsweg_fresh WHERE kind IN ('request-opened', 'request-closed')
GROUP BY reference, item_id
ON CONFLICT (reference, id) DO UPDATE SET
    text = CASE WHEN q.last_seq < EXCLUDED.last_seq THEN COALESCE(EXCLUDED.text, q.text) ELSE COALESCE(q.text, EXCLUDED.text) END,
    due = CASE WHEN q.last_seq < EXCLUDED.last_seq THEN COALESCE(EXCLUDED.due, q.due) ELSE COALESCE(q.due, EXCLUDED.due) END,
    state = CASE WHEN q.last_seq < EXCLUDED.last_seq THEN EXCLUDED.state ELSE q.state END,
    opened_at = LEAST(q.opened_at, EXCLUDED.opened_at),
    closed_at = GREATEST(q.closed_at, EXCLUDED.closed_at),
    last_seq = GREATEST(q.last_seq, EXCLUDED.last_seq)`

	// An incident is resolved by a later incident-resolved event of the same
	// step (or of no step: all). The resolution may have been applied first.
	sqlIncidentsRaised = `
INSERT INTO incidents (reference, seq, tenant, step, message, state, raised_at, resolved_at)
SELECT f.reference, f.seq, f.tenant, f.step, COALESCE(f.message, ''),
    CASE WHEN r.seq IS NULL THEN 'open' ELSE 'resolved' END, f.time, r.time
FROM amtsweg_fresh f
LEFT JOIN LATERAL (
    SELECT pe.seq, pe.time FROM procedure_events pe
    WHERE pe.reference = f.reference AND pe.seq > f.seq AND pe.kind = 'incident-resolved'
      AND COALESCE(NULLIF(pe.payload->'incident'->>'step', ''), pe.payload->>'step', '') IN ('', f.step)
    ORDER BY pe.seq LIMIT 1) r ON true
WHERE f.kind = 'incident'
ON CONFLICT (reference, seq) DO NOTHING`

	//
	// The open incidents are looked up per resolution through the primary
	// key (OFFSET 0 keeps the planner from flattening the lookup into a
	// join): joined as a whole, a planner with stale statistics (the table
	// grows quickly while a plugin is down) scanned every open incident for
	// every resolution, which cost 190 ms per batch at 2,000 open incidents.
	sqlIncidentsResolved = `
UPDATE incidents i SET state = 'resolved', resolved_at = x.time
FROM (
    SELECT o.reference, o.seq, r.time
    FROM amtsweg_fresh r
    CROSS JOIN LATERAL (
        SELECT reference, seq FROM incidents
        WHERE reference = r.reference AND seq < r.seq AND state = 'open' AND (r.step = '' OR step = r.step)
        OFFSET 0) o
    WHERE r.kind = 'incident-resolved') x
WHERE i.reference = x.reference AND i.seq = x.seq`

	// Creates the row of every task the batch mentions, with the fields
	// that never change (taken from its task-created event); a created event
	// that arrives after later events of its task fills them in.
	sqlTasksEnsure = `
INSERT INTO tasks AS t (id, reference, tenant, procedure, version, step, title, form,
    approval, approval_of, approval_of_completed_by, created_at)
SELECT DISTINCT ON (f.item_id) f.item_id, f.reference, f.tenant, a.procedure, a.version, f.step, f.title, f.form,
    COALESCE(f.approval, false), f.approval_of, f.approval_of_completed_by,
    CASE WHEN f.kind = 'task-created' THEN f.time END
FROM amtsweg_fresh f LEFT JOIN applications a ON a.reference = f.reference
WHERE f.kind LIKE 'task-%'
ORDER BY f.item_id, f.kind = 'task-created' DESC, f.seq
ON CONFLICT (id) DO UPDATE SET
    step = CASE WHEN t.step = '' THEN EXCLUDED.step ELSE t.step END,
    title = COALESCE(t.title, EXCLUDED.title),
    form = COALESCE(t.form, EXCLUDED.form),
    approval = t.approval OR EXCLUDED.approval,
    approval_of = COALESCE(t.approval_of, EXCLUDED.approval_of),
    approval_of_completed_by = COALESCE(t.approval_of_completed_by, EXCLUDED.approval_of_completed_by),
    created_at = EXCLUDED.created_at
WHERE t.created_at IS NULL AND EXCLUDED.created_at IS NOT NULL`

	// Applies the task events of one round: each task's state moves by one
	// event, only forward.
	sqlTasksRound = `
UPDATE tasks t SET
    status = CASE f.kind
        WHEN 'task-created'   THEN CASE WHEN f.assignee IS NULL THEN 'open' ELSE 'claimed' END
        WHEN 'task-claimed'   THEN 'claimed'
        WHEN 'task-released'  THEN 'open'
        WHEN 'task-delegated' THEN CASE WHEN f.assignee IS NULL THEN 'open' ELSE 'claimed' END
        WHEN 'task-completed' THEN 'completed'
        WHEN 'task-cancelled' THEN 'cancelled'
        WHEN 'task-overdue'   THEN CASE WHEN t.status IN ('open', 'claimed') AND f.escalated AND f.assignee IS NULL
                                        THEN 'open' ELSE t.status END
        ELSE t.status END,
    assignee = CASE f.kind
        WHEN 'task-created'   THEN f.assignee
        WHEN 'task-claimed'   THEN COALESCE(f.assignee, f.actor)
        WHEN 'task-released'  THEN NULL
        WHEN 'task-delegated' THEN f.assignee
        WHEN 'task-overdue'   THEN CASE WHEN f.escalated THEN f.assignee ELSE t.assignee END
        ELSE COALESCE(f.assignee, t.assignee) END,
    role = COALESCE(f.role, t.role),
    title = COALESCE(f.title, t.title),
    due = COALESCE(f.due, t.due),
    overdue = t.overdue OR f.kind = 'task-overdue',
    escalated = t.escalated OR COALESCE(f.escalated, false),
    data = CASE WHEN f.kind = 'task-completed' THEN f.data ELSE t.data END,
    completed_by = CASE WHEN f.kind = 'task-completed' THEN COALESCE(NULLIF(f.actor, ''), f.assignee, t.assignee) ELSE t.completed_by END,
    completed_at = CASE WHEN f.kind = 'task-completed' THEN f.time ELSE t.completed_at END,
    last_seq = f.seq,
    updated_at = now()
FROM amtsweg_fresh f
WHERE f.round = $1 AND f.kind LIKE 'task-%' AND t.id = f.item_id AND t.last_seq < f.seq`

	// Overdue and escalated are sticky: a late task-overdue event still
	// marks its task.
	sqlTasksOverdue = `
UPDATE tasks t SET overdue = true, escalated = t.escalated OR COALESCE(f.escalated, false)
FROM amtsweg_fresh f
WHERE f.kind = 'task-overdue' AND t.id = f.item_id AND NOT (t.overdue AND (t.escalated OR NOT COALESCE(f.escalated, false)))`

	// Tasks whose application's received event was applied after them.
	sqlTasksBackfill = `
UPDATE tasks t SET procedure = a.procedure, version = a.version
FROM applications a
WHERE t.reference = a.reference AND t.procedure IS NULL AND a.procedure IS NOT NULL
  AND a.reference IN (SELECT reference FROM amtsweg_fresh WHERE kind = 'received')`
)

// ApplyEvents applies a batch of domain events to the read models in one
// transaction and returns how many of them were new. Events already applied
// (same reference and seq) are skipped, so redelivery is harmless; events
// may arrive in any order and for any number of applications, and no read
// model moves backwards. Every event must pass ValidateEvent.
func (s *Store) ApplyEvents(ctx context.Context, evs []*events.ProcedureEvent) (applied int, err error) {
	if len(evs) == 0 {
		return 0, nil
	}
	rows, err := incomingRows(evs)
	if err != nil {
		return 0, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("apply events: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, createTempTables); err != nil {
		return 0, fmt.Errorf("apply events: temporary tables: %w", err)
	}
	// Lock the applications' audit chains and chain the events not yet
	// recorded; the rest are redeliveries.
	if rows, err = chainBatch(ctx, tx, rows); err != nil {
		return 0, fmt.Errorf("apply events: %w", err)
	}
	if len(rows) == 0 {
		return 0, tx.Commit(ctx)
	}
	rounds := 0
	for _, r := range rows {
		rounds = max(rounds, r[len(r)-1].(int))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"amtsweg_incoming"}, incomingColumns, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("apply events: copy %d events: %w", len(rows), err)
	}

	var b pgx.Batch
	b.Queue(sqlInsertFresh)
	if len(rows) >= analyzeThreshold {
		b.Queue("ANALYZE amtsweg_fresh")
	}
	for _, q := range []string{sqlTimeline, sqlDeadlines, sqlRequests, sqlIncidentsRaised, sqlIncidentsResolved,
		sqlApplications, sqlTasksEnsure} {
		b.Queue(q)
	}
	for r := 1; r <= rounds; r++ {
		b.Queue(sqlTasksRound, r)
	}
	b.Queue(sqlTasksOverdue)
	b.Queue(sqlTasksBackfill)
	b.Queue(sqlAuditHeads)

	br := tx.SendBatch(ctx, &b)
	tag, err := br.Exec()
	if err != nil {
		_ = br.Close()
		return 0, fmt.Errorf("apply events: record in procedure_events: %w", err)
	}
	applied = int(tag.RowsAffected())
	if applied != len(rows) {
		_ = br.Close()
		return 0, fmt.Errorf("apply events: %d of %d new events recorded in procedure_events: something appended to the audit trail without holding its chain lock", applied, len(rows))
	}
	if err := br.Close(); err != nil {
		return 0, fmt.Errorf("apply events: update read models: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("apply events: commit: %w", err)
	}
	return applied, nil
}

// incomingRows validates and deduplicates the batch, sorts it by reference
// and seq, and renders each event as a row of amtsweg_incoming.
func incomingRows(evs []*events.ProcedureEvent) ([][]any, error) {
	type key struct {
		ref string
		seq int64
	}
	seen := make(map[key]bool, len(evs))
	uniq := make([]*events.ProcedureEvent, 0, len(evs))
	for _, e := range evs {
		if err := ValidateEvent(e); err != nil {
			return nil, fmt.Errorf("apply events: %w", err)
		}
		k := key{e.Reference, e.Seq}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, e)
		}
	}
	sort.Slice(uniq, func(i, j int) bool {
		if uniq[i].Reference != uniq[j].Reference {
			return uniq[i].Reference < uniq[j].Reference
		}
		return uniq[i].Seq < uniq[j].Seq
	})
	taskRound := map[string]int{}
	rows := make([][]any, 0, len(uniq))
	for _, e := range uniq {
		row, err := incomingRow(e, taskRound)
		if err != nil {
			return nil, fmt.Errorf("apply events: %s/%d: %w", e.Reference, e.Seq, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func incomingRow(e *events.ProcedureEvent, taskRound map[string]int) ([]any, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var (
		itemID, state, role, assignee, approvalOf, approvalOfBy, message  *string
		title, description, form, data, applicant, appPayload, milestones []byte
		due                                                               any
		public, internal, escalated, approval                             *bool
		procedure, version, hash                                          *string
		accessCode                                                        []byte
		receivedAt                                                        *time.Time
		round                                                             int
	)
	step := e.Step
	switch e.Kind {
	case events.KindReceived:
		r := e.Received
		procedure, version, hash = &r.Procedure, &r.Version, &r.DefinitionHash
		if accessCode, err = hex.DecodeString(r.AccessCodeSHA256); err != nil {
			return nil, fmt.Errorf("received.accessCodeSha256: %w", err)
		}
		at := r.ReceivedAt
		if at.IsZero() {
			at = e.Time
		}
		receivedAt = &at
		title = localText(r.Title)
		applicant = rawJSON(r.Applicant)
		appPayload = rawJSON(r.Payload)
		if milestones, err = json.Marshal(orEmpty(r.Milestones)); err != nil {
			return nil, err
		}
	case events.KindMigrated:
		m := e.Migrated
		procedure, version, hash = &m.Procedure, &m.Version, &m.DefinitionHash
		title = localText(m.Title)
		if milestones, err = json.Marshal(orEmpty(m.Milestones)); err != nil {
			return nil, err
		}
	case events.KindMilestone:
		itemID = &e.Milestone.ID
		title = localText(e.Milestone.Title)
		description = localText(e.Milestone.Description)
	case events.KindTimeline:
		title = localText(e.Timeline.Text)
		internal = &e.Timeline.Internal
	case events.KindDeadline:
		d := e.Deadline
		itemID, state, public = &d.ID, &d.State, &d.Public
		title = localText(d.Title)
		due = date(d.Due)
	case events.KindTaskCreated, events.KindTaskClaimed, events.KindTaskReleased, events.KindTaskDelegated,
		events.KindTaskCompleted, events.KindTaskOverdue, events.KindTaskCancelled:
		t := e.Task
		itemID = &t.ID
		title = localText(t.Title)
		role, assignee = nonEmpty(t.Role), nonEmpty(t.Assignee)
		due = date(t.Due)
		form, data = rawJSON(t.Form), rawJSON(t.Data)
		escalated, approval = &t.Escalated, &t.Approval
		approvalOf = nonEmpty(t.ApprovalOf)
		if t.Approval {
			approvalOfBy = nonEmpty(t.CompletedBy)
		}
		taskRound[t.ID]++
		round = taskRound[t.ID]
	case events.KindRequestOpened, events.KindRequestClosed:
		r := e.Request
		itemID = &r.ID
		title = localText(r.Text)
		due = date(r.Due)
		st := r.State
		if st == "" {
			st = "fulfilled"
			if e.Kind == events.KindRequestOpened {
				st = "open"
			}
		}
		state = &st
	case events.KindIncident, events.KindIncidentResolved:
		if e.Incident != nil {
			if e.Incident.Step != "" {
				step = e.Incident.Step
			}
			if e.Kind == events.KindIncident {
				message = &e.Incident.Message
			}
		}
	case events.KindCompleted, events.KindReopened:
		itemID = &e.Outcome.Outcome
		title = localText(e.Outcome.Title)
	}
	return []any{
		e.Reference, e.Seq, e.Tenant, string(e.Kind), auditTime(e.Time), step, e.Actor, payload,
		itemID, title, description, state, due,
		public, internal, escalated,
		role, assignee, form, data,
		approval, approvalOf, approvalOfBy, message,
		procedure, version, hash, accessCode, receivedAt,
		applicant, appPayload, milestones,
		nil, nil, nil, nil, // the audit chain columns, filled in by chainBatch
		round,
	}, nil
}

// localText renders a text as jsonb, or NULL when it has no German text.
func localText(t events.LocalText) []byte {
	if t.De == "" {
		return nil
	}
	b, _ := json.Marshal(t) // a struct of two strings always marshals
	return b
}

// rawJSON is raw JSON as jsonb, NULL for absent or null.
func rawJSON(m json.RawMessage) []byte {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return m
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// date renders a YYYY-MM-DD (checked by ValidateEvent) as a date, NULL when
// empty.
func date(s string) any {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil
	}
	return pgtype.Date{Time: t, Valid: true}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ResetProjections empties the read models and the procedure_events log so
// that they can be rebuilt from the event topic. Deployed definitions stay.
func (s *Store) ResetProjections(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `TRUNCATE applications, timeline, deadlines, tasks, requests, incidents, procedure_events, audit_heads`)
	if err != nil {
		return fmt.Errorf("reset projections: %w", err)
	}
	return nil
}
