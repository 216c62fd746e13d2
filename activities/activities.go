package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
)

// Registered names of Amtsweg's own activities. The "amtsweg." prefix is
// reserved: no plugin may be called "amtsweg".
const (
	LoadDefinitionName    = "amtsweg.load-definition"
	ResolveDefinitionName = "amtsweg.resolve-definition"
	PublishEventsName     = "amtsweg.publish-events"
	ComputeDeadlineName   = "amtsweg.compute-deadline"
)

// ErrDefinitionNotFound is returned by a DefinitionSource for an unknown
// definition.
var ErrDefinitionNotFound = errors.New("definition not found")

// DefinitionSource reads deployed definitions (PostgreSQL in production).
type DefinitionSource interface {
	// DefinitionByHash returns the deployed definition with this content hash.
	DefinitionByHash(ctx context.Context, hash string) (*definitions.Procedure, error)
	// LatestDefinition returns the newest version of key that applies on day on.
	LatestDefinition(ctx context.Context, key string, on time.Time) (definitions.Ref, error)
}

// Publisher publishes domain events durably, in order (Kafka in production).
type Publisher interface {
	Publish(ctx context.Context, evs []*events.ProcedureEvent) error
}

// Activities holds the dependencies of Amtsweg's own activities. Register
// its methods with RegisterOptions{Name: ...Name} as worker.Register does.
type Activities struct {
	Definitions DefinitionSource
	Events      Publisher
}

// LoadDefinition returns the pinned definition. Its result is recorded in the
// workflow history, so replay never reads the database again.
func (a *Activities) LoadDefinition(ctx context.Context, ref definitions.Ref) (*definitions.Procedure, error) {
	p, err := a.Definitions.DefinitionByHash(ctx, ref.Hash)
	if errors.Is(err, ErrDefinitionNotFound) {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("definition %s %s (hash %s) is not deployed", ref.Key, ref.Version, ref.Hash), "DefinitionNotFound", err)
	}
	if err != nil {
		return nil, fmt.Errorf("load definition %s %s: %w", ref.Key, ref.Version, err)
	}
	return p, nil
}

// ResolveRequest asks for the definition version a new (sub-)procedure takes.
type ResolveRequest struct {
	Key string    `json:"key"`
	On  time.Time `json:"on"`
}

// ResolveDefinition returns the latest deployed version of a key that applies
// on the given day; used to start sub-procedures.
func (a *Activities) ResolveDefinition(ctx context.Context, r ResolveRequest) (definitions.Ref, error) {
	ref, err := a.Definitions.LatestDefinition(ctx, r.Key, r.On)
	if errors.Is(err, ErrDefinitionNotFound) {
		return ref, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no deployed definition %q applies on %s: deploy one", r.Key, r.On.Format(time.DateOnly)), "DefinitionNotFound", err)
	}
	if err != nil {
		return ref, fmt.Errorf("resolve definition %s: %w", r.Key, err)
	}
	return ref, nil
}

// PublishEvents publishes a batch of domain events. It is safe to retry:
// the projector ignores a (reference, seq) it has applied.
func (a *Activities) PublishEvents(ctx context.Context, evs []*events.ProcedureEvent) error {
	if err := a.Events.Publish(ctx, evs); err != nil {
		return fmt.Errorf("publish %d events: %w", len(evs), err)
	}
	return nil
}

// DeadlineRequest asks for the end of a legal period.
type DeadlineRequest struct {
	// From is the day of the triggering event (YYYY-MM-DD); it is not counted.
	From string `json:"from"`
	// Period is an ISO 8601 legal period such as "P2W", "P1M", "P3M".
	Period string `json:"period"`
	// Calendar is the holiday calendar, e.g. "DE-TH".
	Calendar string `json:"calendar"`
	// PausedDays are added back for the time the period was suspended.
	PausedDays int `json:"pausedDays,omitempty"`
}

// DeadlineResult is a computed legal deadline.
type DeadlineResult struct {
	// End is the last day of the period (YYYY-MM-DD).
	End string `json:"end"`
	// FiresAt is the end of that day at the authority's seat, when the
	// deadline has passed.
	FiresAt time.Time `json:"firesAt"`
	// Rules explain the computation, one rule per line.
	Rules []string `json:"rules"`
}

// ComputeDeadline computes a legal deadline on the procedure's calendar. It
// runs as an activity so that the result is recorded once in the history and
// a later change of holiday data cannot alter a running procedure.
func ComputeDeadline(_ context.Context, r DeadlineRequest) (DeadlineResult, error) {
	from, err := calendar.ParseDate(r.From)
	if err != nil {
		return DeadlineResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadDeadline", err)
	}
	period, err := calendar.ParsePeriod(r.Period)
	if err != nil {
		return DeadlineResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadDeadline", err)
	}
	cal, err := calendar.Lookup(r.Calendar)
	if err != nil {
		return DeadlineResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadDeadline", err)
	}
	res, err := calendar.Compute(from, period, cal, r.PausedDays)
	if err != nil {
		return DeadlineResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadDeadline", err)
	}
	return DeadlineResult{End: res.End.String(), FiresAt: calendar.EndOfDay(res.End), Rules: res.Rules}, nil
}

// Names of the retention workflow's activities (package
// activities/retention implements them).
const (
	ExpiredApplicationsName = "amtsweg.retention.expired"
	EraseApplicationName    = "amtsweg.retention.erase"
)

// ExpiredRequest asks for up to Limit applications whose retention period
// ended on or before Now.
type ExpiredRequest struct {
	Now   time.Time `json:"now"`
	Limit int       `json:"limit"`
}

// Expired is one application due for erasure.
type Expired struct {
	Reference string `json:"reference"`
	Tenant    string `json:"tenant"`
	Class     string `json:"class"`
}

// EraseRequest asks to erase one application in every store.
type EraseRequest struct {
	Reference string `json:"reference"`
	Tenant    string `json:"tenant"`
	Class     string `json:"class"`
}
