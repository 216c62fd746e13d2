package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/store"
)

// Consumer groups of the intake worker.
const (
	GroupIntake    = "amtsweg-intake"
	GroupApplicant = "amtsweg-applicant"
)

// StartRequest asks to start the procedure of an accepted application.
type StartRequest struct {
	// Reference is the application's reference (the CloudEvent subject);
	// the workflow id derives from it.
	Reference string
	Tenant    string
	// DefinitionKey, DefinitionVersion and DefinitionHash pin the
	// definition version the application was validated against.
	DefinitionKey     string
	DefinitionVersion string
	DefinitionHash    string
	// ReceivedAt is the CloudEvent's time (or when the intake saw it).
	ReceivedAt time.Time
	// AccessCodeSHA256 is the lowercase hex SHA-256 of the access code.
	AccessCodeSHA256 string
	Applicant        json.RawMessage
	Payload          json.RawMessage
}

// Starter starts procedures. Start must be idempotent: starting an
// application that is already running or finished returns nil. Errors are
// retried (the message stays uncommitted), except a *kafkabus.Poison,
// which sends the message to the dead-letter topic.
type Starter interface {
	Start(ctx context.Context, r StartRequest) error
}

// Signaler routes an applicant's follow-up event to the running procedure
// of reference. ceType is the CloudEvent type (e.g.
// "de.amtsweg.applicant.documents-submitted.v1"), id the CloudEvent id (the
// same for a redelivered message, so the procedure can ignore repeats),
// at the time the event happened (the CloudEvent's time: the portal's
// receipt; zero when absent), data the event's content (the CloudEvent's
// data; nil when absent). It returns
// an error wrapping ErrNoSuchProcedure when reference names no running
// procedure, or ErrEventRejected when the procedure does not accept the
// event; both send the message to the dead-letter topic. Other errors are
// retried.
type Signaler interface {
	Signal(ctx context.Context, reference, ceType, id string, at time.Time, data json.RawMessage) error
}

// ErrNoSuchProcedure: the reference names no running procedure.
var ErrNoSuchProcedure = errors.New("no running procedure for this reference")

// ErrEventRejected: the procedure does not accept the event (its type is
// not declared in the definition, or its data does not match the schema).
var ErrEventRejected = errors.New("event rejected by the procedure")

// Store is what the intake needs of the store (a *store.Store).
type Store interface {
	LatestDefinition(ctx context.Context, key string, on time.Time) (store.DefinitionRecord, error)
	DefinitionKeys(ctx context.Context) ([]string, error)
	RecordSubmission(ctx context.Context, sub store.Submission) (store.Submission, bool, error)
	MarkSubmissionStarted(ctx context.Context, reference string) error
}

// Config configures the intake worker.
type Config struct {
	Brokers []string
	// Store supplies the deployed definitions and records accepted
	// submissions (a *store.Store).
	Store    Store
	Starter  Starter
	Signaler Signaler
	Logger   *slog.Logger
	// IntakeTopic and ApplicantTopic default to events.TopicIntake and
	// events.TopicApplicant; IntakeGroup and ApplicantGroup to GroupIntake
	// and GroupApplicant.
	IntakeTopic, ApplicantTopic string
	IntakeGroup, ApplicantGroup string
	// IntakeConsumers is how many consumers of the intake topic run in the
	// group (default DefaultIntakeConsumers). Each takes a share of the
	// partitions, so one application's messages (keyed by reference) are
	// still handled in order, while applications on different partitions
	// start concurrently. More consumers than partitions sit idle.
	IntakeConsumers int
	// VersionsValidOn, when set, pins the day on which a submission's
	// procedure version is chosen: every submission takes the version valid
	// on this day instead of on its receipt day (its receipt time is kept
	// for everything else). Production leaves it zero; the end-to-end tests
	// set it so that a bundled version whose validFrom comes does not
	// switch the procedure they run.
	VersionsValidOn time.Time
}

// DefaultIntakeConsumers matches the partitions of events.TopicIntake in
// amtsweg dev; with more partitions (deploy/kafka-topics.sh creates 12),
// more consumers or more intake processes share them.
const DefaultIntakeConsumers = 4

// Intake handles the intake and applicant topics' messages.
type Intake struct {
	store    Store
	starter  Starter
	signaler Signaler
	log      *slog.Logger
	now      func() time.Time
	// versionsOn is Config.VersionsValidOn.
	versionsOn time.Time
}

// New returns the message handlers of cfg. Run uses it; tests and other
// transports may call the handlers directly.
func New(cfg Config) (*Intake, error) {
	if cfg.Store == nil || cfg.Starter == nil {
		return nil, fmt.Errorf("intake: the store and the starter are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Intake{store: cfg.Store, starter: cfg.Starter, signaler: cfg.Signaler, log: log, now: time.Now,
		versionsOn: cfg.VersionsValidOn}, nil
}

// Run consumes events.TopicIntake (group "amtsweg-intake") and, when a
// Signaler is configured, events.TopicApplicant (group
// "amtsweg-applicant") until ctx ends. It returns nil when ctx ends, or
// the first consumer's error.
func Run(ctx context.Context, cfg Config) error {
	in, err := New(cfg)
	if err != nil {
		return err
	}
	// The first consumer to fail stops the others; Run returns its error
	// after all have ended.
	g, gctx := errgroup.WithContext(ctx)
	run := func(group, topic string, h kafkabus.Handler) {
		g.Go(func() error {
			in.log.Info("intake consuming", "topic", topic, "group", group, "brokers", cfg.Brokers)
			return kafkabus.Consume(gctx, kafkabus.ReaderConfig{Brokers: cfg.Brokers, GroupID: group, Topic: topic, Logger: in.log}, h)
		})
	}
	consumers := cfg.IntakeConsumers
	if consumers <= 0 {
		consumers = DefaultIntakeConsumers
	}
	// Starting a procedure waits on Temporal; one consumer per partition
	// keeps that wait from serialising all applications.
	for range consumers {
		run(or(cfg.IntakeGroup, GroupIntake), or(cfg.IntakeTopic, events.TopicIntake), in.HandleSubmission)
	}
	if cfg.Signaler != nil {
		run(or(cfg.ApplicantGroup, GroupApplicant), or(cfg.ApplicantTopic, events.TopicApplicant), in.HandleApplicantEvent)
	} else {
		in.log.Warn("no signaler configured: applicant events are not consumed", "topic", or(cfg.ApplicantTopic, events.TopicApplicant))
	}
	return g.Wait()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MaxEventBytes caps an intake or applicant message (the whole
// CloudEvent): 256 KiB. Application data go into the procedure's Temporal
// history, which warns at 512 KiB per payload and refuses 2 MiB; a form's
// worth of fields is a few kilobytes, and documents travel as references
// (e.g. unterlagen[].datei), never inline. A larger message goes to the
// dead-letter topic with the reason.
const MaxEventBytes = 256 << 10

// tooLarge is the dead-letter reason of an oversized message, or nil.
func tooLarge(m kafka.Message) error {
	if len(m.Value) <= MaxEventBytes {
		return nil
	}
	return kafkabus.Poisoned("message of %d bytes exceeds the intake's limit of %d bytes (%s): send documents as references, not inline",
		len(m.Value), MaxEventBytes, "256 KiB")
}

// HandleSubmission validates an application submitted on
// events.TopicIntake and starts its procedure.
func (in *Intake) HandleSubmission(ctx context.Context, m kafka.Message) error {
	if err := tooLarge(m); err != nil {
		return err
	}
	env, data, err := events.DecodeSubmission(m.Topic, m.Value)
	if err != nil {
		return kafkabus.Poisoned("%w", err)
	}
	if len(m.Key) > 0 && string(m.Key) != env.Subject {
		in.log.Warn("intake message key is not the reference; key messages by reference to keep an application on one partition",
			"key", string(m.Key), "reference", env.Subject)
	}
	receivedAt := env.Time
	if receivedAt.IsZero() {
		receivedAt = in.now()
	}

	versionDay := receivedAt
	if !in.versionsOn.IsZero() {
		versionDay = in.versionsOn
	}
	def, err := in.store.LatestDefinition(ctx, data.Procedure, versionDay)
	if errors.Is(err, store.ErrNotFound) {
		return in.unknownProcedure(ctx, env.Subject, data.Procedure, versionDay)
	}
	if err != nil {
		return fmt.Errorf("%s: look up definition %s: %w", env.Subject, data.Procedure, err)
	}
	var model struct {
		ApplicationSchema json.RawMessage `json:"applicationSchema"`
	}
	if err := json.Unmarshal(def.Model, &model); err != nil {
		return kafkabus.Poisoned("%s: definition %s %s is unreadable: %w", env.Subject, def.Key, def.Version, err)
	}
	if len(model.ApplicationSchema) > 0 {
		schema, err := jsonvalidate.Cached(def.Hash+"/applicationSchema", model.ApplicationSchema)
		if err != nil {
			return kafkabus.Poisoned("%s: the application schema of %s %s does not compile (fix and redeploy the definition): %w",
				env.Subject, def.Key, def.Version, err)
		}
		if err := schema.Validate(data.Payload); err != nil {
			return kafkabus.Poisoned("%s: data.payload does not match the application schema of %s %s: %w",
				env.Subject, def.Key, def.Version, err)
		}
	}

	req := StartRequest{
		Reference: env.Subject, Tenant: data.Tenant,
		DefinitionKey: def.Key, DefinitionVersion: def.Version, DefinitionHash: def.Hash,
		ReceivedAt: receivedAt, AccessCodeSHA256: data.AccessCodeSHA256,
		Applicant: data.Applicant, Payload: data.Payload,
	}
	dataHash := sha256.Sum256(env.Data)
	sub, created, err := in.store.RecordSubmission(ctx, store.Submission{
		Reference: req.Reference, Tenant: req.Tenant, Procedure: def.Key, Version: def.Version, DefinitionHash: def.Hash,
		EventID: env.ID, EventSource: env.Source, DataSHA256: dataHash[:], ReceivedAt: receivedAt,
	})
	if err != nil {
		return err
	}
	if !created {
		switch {
		case !bytes.Equal(sub.DataSHA256, dataHash[:]):
			return kafkabus.Poisoned("%s: this reference was already used for a different application (received %s, event %s from %s): give every application its own reference",
				req.Reference, sub.ReceivedAt.Format(time.RFC3339), sub.EventID, sub.EventSource)
		case sub.StartedAt != nil:
			in.log.Info("duplicate submission ignored: its procedure was started before", "reference", req.Reference,
				"started", sub.StartedAt)
			return nil
		}
		// Recorded but not known to be started (a crash in between): start
		// it on the definition pinned then.
		req.DefinitionKey, req.DefinitionVersion, req.DefinitionHash = sub.Procedure, sub.Version, sub.DefinitionHash
		req.ReceivedAt = sub.ReceivedAt
	}
	if err := in.starter.Start(ctx, req); err != nil {
		if _, ok := kafkabus.IsPoison(err); ok {
			return err
		}
		return fmt.Errorf("start %s (%s %s): %w", req.Reference, req.DefinitionKey, req.DefinitionVersion, err)
	}
	if err := in.store.MarkSubmissionStarted(ctx, req.Reference); err != nil {
		return err
	}
	in.log.Info("application accepted", "reference", req.Reference, "procedure", req.DefinitionKey, "version", req.DefinitionVersion, "tenant", req.Tenant)
	return nil
}

func (in *Intake) unknownProcedure(ctx context.Context, ref, key string, on time.Time) error {
	keys, err := in.store.DefinitionKeys(ctx)
	if err != nil {
		return fmt.Errorf("%s: list definitions: %w", ref, err)
	}
	day := on.Format(time.DateOnly)
	if slices.Contains(keys, key) {
		which := "the receipt date"
		if !in.versionsOn.IsZero() {
			which = "the day this intake is pinned to choose versions on"
		}
		return kafkabus.Poisoned("%s: no version of procedure %q is valid on %s (%s): deploy one with an earlier validFrom",
			ref, key, day, which)
	}
	deployed := "none"
	if len(keys) > 0 {
		deployed = strings.Join(keys, ", ")
	}
	return kafkabus.Poisoned("%s: procedure %q is not deployed (deployed procedures: %s): fix data.procedure or deploy the definition",
		ref, key, deployed)
}

// HandleApplicantEvent routes an applicant's follow-up on
// events.TopicApplicant to the procedure of its subject.
func (in *Intake) HandleApplicantEvent(ctx context.Context, m kafka.Message) error {
	if in.signaler == nil {
		return fmt.Errorf("intake: no signaler configured for applicant events")
	}
	if err := tooLarge(m); err != nil {
		return err
	}
	env, err := events.DecodeApplicantEvent(m.Topic, m.Value)
	if err != nil {
		return kafkabus.Poisoned("%w", err)
	}
	err = in.signaler.Signal(ctx, env.Subject, env.Type, env.ID, env.Time, env.Data)
	switch {
	case err == nil:
		in.log.Info("applicant event delivered", "reference", env.Subject, "type", env.Type)
		return nil
	case errors.Is(err, ErrNoSuchProcedure), errors.Is(err, ErrEventRejected):
		return kafkabus.Poisoned("%s: %s: %w", env.Subject, env.Type, err)
	default:
		if _, ok := kafkabus.IsPoison(err); ok {
			return err
		}
		return fmt.Errorf("signal %s to %s: %w", env.Type, env.Subject, err)
	}
}
