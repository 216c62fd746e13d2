package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/amtsweg/amtsweg/events"
)

// Task is a human task as the worklist shows it.
type Task struct {
	ID        string
	Reference string
	Tenant    string
	Procedure string
	Version   string
	Step      string
	Title     events.LocalText
	Role      string
	// Assignee is empty while the task is unclaimed.
	Assignee string
	// Status is "open", "claimed", "completed" or "cancelled".
	Status    string
	CreatedAt time.Time
	// Due is the due date (YYYY-MM-DD), empty when the task has none.
	Due       string
	Overdue   bool
	Escalated bool
	// Form is the JSON Schema of the completion data.
	Form json.RawMessage
	// Data is the completion data.
	Data json.RawMessage
	// Approval marks a four-eyes approval task; ApprovalOf is the task it
	// approves and ApprovalOfCompletedBy who completed that one (who may
	// not approve).
	Approval              bool
	ApprovalOf            string
	ApprovalOfCompletedBy string
	CompletedBy           string
	CompletedAt           *time.Time
	// LastSeq is the sequence number of the event that last changed it.
	LastSeq int64
}

// TaskQuery selects a page of an authority's worklist, ordered by due date
// (undated last) and id.
type TaskQuery struct {
	Tenant string
	// Roles, if not empty, restricts to tasks of these roles (candidate
	// groups).
	Roles []string
	// Assignee, if not empty, restricts to tasks claimed by this user.
	Assignee string
	// OrAssignee, if not empty, adds the tasks assigned to this user,
	// whatever their role, to those of Roles: a clerk's default worklist
	// ("my roles' tasks and mine"). It excludes Assignee.
	OrAssignee string
	// Statuses defaults to open and claimed.
	Statuses []string
	// Overdue, if set, keeps only the tasks that are (true) or are not
	// (false) overdue.
	Overdue *bool
	// Reference, if not empty, keeps only the tasks of this application.
	Reference string
	// After is the NextCursor of the previous page; empty for the first.
	After string
	// Limit defaults to 50, at most 500.
	Limit int
}

// ErrInvalidCursor is wrapped by the error for a paging cursor this store
// did not hand out.
var ErrInvalidCursor = errors.New("invalid cursor")

// TaskPage is a page of tasks; NextCursor is empty on the last page.
type TaskPage struct {
	Tasks      []Task
	NextCursor string
}

// The title is read as its two texts rather than as jsonb: decoding a
// JSON object per task took a tenth of a worklist request's CPU.
const taskColumns = `id, reference, tenant, procedure, version, step, title->>'de' AS title_de, title->>'en' AS title_en,
	role, assignee, status, created_at,
	due, overdue, escalated, form, data, approval, approval_of, approval_of_completed_by, completed_by, completed_at, last_seq`

// Tasks returns a page of the worklist. Each (role or assignee, status)
// combination is read as an ordered range of an index and the ranges are
// merged, so a page costs about Limit rows per combination however long
// the worklist is.
func (s *Store) Tasks(ctx context.Context, q TaskQuery) (TaskPage, error) {
	if q.Tenant == "" {
		return TaskPage{}, fmt.Errorf("tasks: tenant is required")
	}
	if q.Assignee != "" && q.OrAssignee != "" {
		return TaskPage{}, fmt.Errorf("tasks: Assignee and OrAssignee exclude each other")
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	if len(q.Statuses) == 0 {
		q.Statuses = []string{"open", "claimed"}
	}
	after := pgtype.Date{Valid: true, InfinityModifier: pgtype.NegativeInfinity}
	afterID := ""
	if q.After != "" {
		var err error
		if after, afterID, err = decodeTaskCursor(q.After); err != nil {
			return TaskPage{}, err
		}
	}
	args := []any{q.Tenant, after, afterID, q.Limit + 1}
	// Filters that every branch shares.
	var common string
	if q.Overdue != nil {
		args = append(args, *q.Overdue)
		common += " AND overdue = $" + strconv.Itoa(len(args))
	}
	if q.Reference != "" {
		args = append(args, q.Reference)
		common += " AND reference = $" + strconv.Itoa(len(args))
	}
	var orAssigneeArg, rolesArg string
	if q.OrAssignee != "" {
		args = append(args, q.OrAssignee)
		orAssigneeArg = "$" + strconv.Itoa(len(args))
		if len(q.Roles) > 0 {
			args = append(args, q.Roles)
			rolesArg = "$" + strconv.Itoa(len(args))
		}
	}
	var branches []string
	branch := func(cond string) {
		branches = append(branches, `(SELECT `+taskColumns+` FROM tasks WHERE tenant = $1 AND `+cond+common+
			` AND (due, id) > ($2, $3) ORDER BY due, id LIMIT $4)`)
	}
	for _, st := range q.Statuses {
		args = append(args, st)
		stArg := "$" + strconv.Itoa(len(args))
		switch {
		case q.Assignee != "":
			args = append(args, q.Assignee)
			cond := "assignee = $" + strconv.Itoa(len(args)) + " AND status = " + stArg
			if len(q.Roles) > 0 {
				args = append(args, q.Roles)
				cond += " AND role = ANY($" + strconv.Itoa(len(args)) + ")"
			}
			branch(cond)
		case len(q.Roles) > 0 || orAssigneeArg != "":
			for _, role := range q.Roles {
				args = append(args, role)
				branch("role = $" + strconv.Itoa(len(args)) + " AND status = " + stArg)
			}
			if orAssigneeArg != "" {
				// Assigned tasks of other roles; those of Roles are in the
				// branches above.
				cond := "assignee = " + orAssigneeArg + " AND status = " + stArg
				if rolesArg != "" {
					cond += " AND NOT role = ANY(" + rolesArg + ")"
				}
				branch(cond)
			}
		default:
			branch("status = " + stArg)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT * FROM (`+strings.Join(branches, " UNION ALL ")+`) t ORDER BY due, id LIMIT $4`, args...)
	if err != nil {
		return TaskPage{}, fmt.Errorf("tasks of %s: %w", q.Tenant, err)
	}
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return TaskPage{}, fmt.Errorf("tasks of %s: %w", q.Tenant, err)
	}
	page := TaskPage{Tasks: tasks}
	if len(tasks) > q.Limit {
		page.Tasks = tasks[:q.Limit]
		last := page.Tasks[q.Limit-1]
		page.NextCursor = encodeTaskCursor(last.Due, last.ID)
	}
	return page, nil
}

// Task returns one task, or an error wrapping ErrNotFound.
func (s *Store) Task(ctx context.Context, id string) (Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = $1`, id)
	if err != nil {
		return Task{}, fmt.Errorf("task %s: %w", id, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTask)
	if errors.Is(err, pgx.ErrNoRows) {
		return Task{}, fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Task{}, fmt.Errorf("task %s: %w", id, err)
	}
	return t, nil
}

func scanTask(row pgx.CollectableRow) (Task, error) {
	var (
		t                                                      Task
		procedure, version, assignee, approvalOf, approvalOfBy *string
		completedBy, titleDe, titleEn                          *string
		form, data                                             []byte
		createdAt                                              *time.Time
		due                                                    pgtype.Date
	)
	err := row.Scan(&t.ID, &t.Reference, &t.Tenant, &procedure, &version, &t.Step, &titleDe, &titleEn, &t.Role, &assignee, &t.Status,
		&createdAt, &due, &t.Overdue, &t.Escalated, &form, &data, &t.Approval, &approvalOf, &approvalOfBy,
		&completedBy, &t.CompletedAt, &t.LastSeq)
	if err != nil {
		return t, err
	}
	t.Procedure, t.Version, t.Assignee = deref(procedure), deref(version), deref(assignee)
	t.ApprovalOf, t.ApprovalOfCompletedBy, t.CompletedBy = deref(approvalOf), deref(approvalOfBy), deref(completedBy)
	if createdAt != nil {
		t.CreatedAt = *createdAt
	}
	if due.Valid && due.InfinityModifier == pgtype.Finite {
		t.Due = due.Time.Format(time.DateOnly)
	}
	t.Form, t.Data = form, data
	t.Title = events.LocalText{De: deref(titleDe), En: deref(titleEn)}
	return t, nil
}

// A cursor is the (due, id) of the last task of a page: "YYYY-MM-DD" or
// "infinity", a space, the id; base64url so it travels in a URL.
func encodeTaskCursor(due, id string) string {
	if due == "" {
		due = "infinity"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(due + " " + id))
}

func decodeTaskCursor(c string) (pgtype.Date, string, error) {
	bad := fmt.Errorf("tasks: cursor %q is not one this server returned; start again without it: %w", c, ErrInvalidCursor)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return pgtype.Date{}, "", bad
	}
	due, id, ok := strings.Cut(string(b), " ")
	if !ok {
		return pgtype.Date{}, "", bad
	}
	if due == "infinity" {
		return pgtype.Date{Valid: true, InfinityModifier: pgtype.Infinity}, id, nil
	}
	t, err := time.Parse(time.DateOnly, due)
	if err != nil {
		return pgtype.Date{}, "", bad
	}
	return pgtype.Date{Time: t, Valid: true}, id, nil
}
