package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/bekanntgabe"
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
	DeemBekanntgabeName   = "amtsweg.deem-bekanntgabe"
	// LocalPluginCallName runs a plugin activity as a local activity (a
	// service step with local: true); its argument is the plugins.Call,
	// whose Activity names the plugin activity.
	LocalPluginCallName = "amtsweg.local-plugin-call"
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
	// Tenants, when set, gives the holiday calendar at an authority's seat;
	// it overrides the definition's calendar.
	Tenants TenantCalendars
}

// TenantCalendars reads the authorities' calendar setting (PostgreSQL in
// production). TenantCalendar returns an error wrapping ErrNoTenantCalendar
// when the authority has none.
type TenantCalendars interface {
	TenantCalendar(ctx context.Context, tenant string) (string, error)
}

// ErrNoTenantCalendar says that an authority has no calendar setting.
var ErrNoTenantCalendar = errors.New("no calendar configured for the authority")

// calendarFor returns the calendar periods of tenant are computed on: the
// authority's setting, else the definition's calendar.
func (a *Activities) calendarFor(ctx context.Context, tenant, definition string) (string, error) {
	if a.Tenants != nil && tenant != "" {
		c, err := a.Tenants.TenantCalendar(ctx, tenant)
		switch {
		case err == nil && c != "":
			return c, nil
		case err != nil && !errors.Is(err, ErrNoTenantCalendar):
			return "", fmt.Errorf("calendar of %s: %w", tenant, err) // retried
		}
	}
	if definition == "" {
		err := fmt.Errorf("no holiday calendar for authority %q: set it (amtsweg tenants calendar %s DE-TH) or name one in the definition (calendar: DE-TH)", tenant, tenant)
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "NoCalendar", err)
	}
	return definition, nil
}

// TenantDeadline computes a deadline on the calendar of the request's
// authority (see calendarFor); registered as ComputeDeadlineName.
func (a *Activities) TenantDeadline(ctx context.Context, r DeadlineRequest) (DeadlineResult, error) {
	c, err := a.calendarFor(ctx, r.Tenant, r.Calendar)
	if err != nil {
		return DeadlineResult{}, err
	}
	r.Calendar = c
	res, err := ComputeDeadline(ctx, r)
	res.Calendar = c
	return res, err
}

// TenantBekanntgabe deems a delivery on the calendar of the request's
// authority; registered as DeemBekanntgabeName.
func (a *Activities) TenantBekanntgabe(ctx context.Context, r BekanntgabeRequest) (bekanntgabe.Result, error) {
	c, err := a.calendarFor(ctx, r.Tenant, r.Calendar)
	if err != nil {
		return bekanntgabe.Result{}, err
	}
	r.Calendar = c
	return DeemBekanntgabe(ctx, r)
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
	// Tenant is the authority; its calendar setting overrides Calendar.
	Tenant string `json:"tenant,omitempty"`
	// Options: counting from the start of the day, no weekend shift.
	Options calendar.Options `json:"options,omitzero"`
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
	// Calendar is the calendar used.
	Calendar string `json:"calendar,omitempty"`
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
	res, err := calendar.ComputeWith(from, period, cal, r.PausedDays, r.Options)
	if err != nil {
		return DeadlineResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadDeadline", err)
	}
	return DeadlineResult{End: res.End.String(), FiresAt: calendar.EndOfDay(res.End), Rules: res.Rules}, nil
}

// BekanntgabeRequest asks for the day of Bekanntgabe of one delivery.
type BekanntgabeRequest struct {
	// Channel is post, portal, zustellung, hand or public.
	Channel string `json:"channel"`
	// Dispatched is the day of dispatch (YYYY-MM-DD).
	Dispatched string `json:"dispatched"`
	// Proof is the date on the proof of service or the day of retrieval.
	Proof string `json:"proof,omitempty"`
	// AsOf is the day up to which the facts are known.
	AsOf string `json:"asOf,omitempty"`
	// Calendar is the holiday calendar; its Land selects the rules.
	Calendar string `json:"calendar"`
	// Tenant is the authority; its calendar setting overrides Calendar.
	Tenant string `json:"tenant,omitempty"`
}

// DeemBekanntgabe applies the Bekanntgabe rule of a delivery's channel (see
// package definitions/bekanntgabe). It runs as an activity so that the
// result is recorded once in the history: a later change of the rules or the
// holiday data cannot alter a running procedure.
func DeemBekanntgabe(_ context.Context, r BekanntgabeRequest) (bekanntgabe.Result, error) {
	bad := func(err error) (bekanntgabe.Result, error) {
		return bekanntgabe.Result{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadNotice", err)
	}
	d := bekanntgabe.Delivery{Channel: bekanntgabe.Channel(r.Channel)}
	var err error
	if d.Dispatched, err = calendar.ParseDate(r.Dispatched); err != nil {
		return bad(fmt.Errorf("day of dispatch: %w", err))
	}
	if r.Proof != "" {
		if d.Proof, err = calendar.ParseDate(r.Proof); err != nil {
			return bad(fmt.Errorf("date on the proof: %w", err))
		}
	}
	if r.AsOf != "" {
		if d.AsOf, err = calendar.ParseDate(r.AsOf); err != nil {
			return bad(fmt.Errorf("as of: %w", err))
		}
	}
	cal, err := calendar.Lookup(r.Calendar)
	if err != nil {
		return bad(err)
	}
	res, err := bekanntgabe.Deem(d, bekanntgabe.ForLand(r.Calendar), cal)
	if err != nil {
		return bad(err)
	}
	return res, nil
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
