package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// Source is the CloudEvents source of the events Amtsweg itself emits.
const Source = "urn:amtsweg"

// Envelope is a decoded CloudEvent with its data still raw.
type Envelope struct {
	ID      string
	Source  string
	Type    string
	Subject string
	Time    time.Time
	Data    json.RawMessage
}

// Encode renders a CloudEvent 1.0 in structured JSON mode with data as its
// JSON payload.
func Encode(id, source, typ, subject string, t time.Time, data any) ([]byte, error) {
	e := ce.New(ce.CloudEventsVersionV1)
	e.SetID(id)
	e.SetSource(source)
	e.SetType(typ)
	e.SetSubject(subject)
	e.SetTime(t)
	if err := e.SetData(ce.ApplicationJSON, data); err != nil {
		return nil, fmt.Errorf("encode %s data: %w", typ, err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return json.Marshal(e)
}

// Decode parses a CloudEvent in structured JSON mode. The error says what is
// wrong with the message, for the dead-letter reason.
func Decode(msg []byte) (Envelope, error) {
	var e ce.Event
	if err := json.Unmarshal(msg, &e); err != nil {
		return Envelope{}, fmt.Errorf("not a CloudEvent in structured JSON mode: %w", err)
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, fmt.Errorf("invalid CloudEvent: %w", err)
	}
	if ct := e.DataContentType(); ct != "" && ct != ce.ApplicationJSON && ct != "text/json" {
		return Envelope{}, fmt.Errorf("datacontenttype %q is not supported: send application/json", ct)
	}
	return Envelope{
		ID:      e.ID(),
		Source:  e.Source(),
		Type:    e.Type(),
		Subject: e.Subject(),
		Time:    e.Time(),
		Data:    json.RawMessage(e.Data()),
	}, nil
}

// DecodeSubmission decodes and checks an application message received on
// topic, as it comes from the portal (untrusted): a CloudEvent of type
// TypeApplicationSubmitted whose subject is a valid reference and whose
// data is a valid ApplicationSubmitted. The error says what is wrong, for
// the dead-letter reason. The payload is not checked against the
// procedure's application schema (that needs the deployed definition).
func DecodeSubmission(topic string, msg []byte) (Envelope, ApplicationSubmitted, error) {
	var data ApplicationSubmitted
	env, err := Decode(msg)
	if err != nil {
		return env, data, err
	}
	if env.Type != TypeApplicationSubmitted {
		return env, data, fmt.Errorf("CloudEvent type %q is not accepted on %s: send applications as %q",
			env.Type, topic, TypeApplicationSubmitted)
	}
	if err := ValidateReference(env.Subject); err != nil {
		return env, data, fmt.Errorf("CloudEvent subject: %w", err)
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return env, data, fmt.Errorf("data of %s: %w", env.Subject, err)
	}
	if err := data.Validate(); err != nil {
		return env, data, fmt.Errorf("%s: %w", env.Subject, err)
	}
	return env, data, nil
}

// DecodeApplicantEvent decodes and checks an applicant's follow-up message
// received on topic (untrusted): a CloudEvent whose subject is a valid
// reference, of any type but an application submission, with data that is
// absent or a JSON object. The error says what is wrong.
func DecodeApplicantEvent(topic string, msg []byte) (Envelope, error) {
	env, err := Decode(msg)
	if err != nil {
		return env, err
	}
	if err := ValidateReference(env.Subject); err != nil {
		return env, fmt.Errorf("CloudEvent subject: %w", err)
	}
	if env.Type == TypeApplicationSubmitted {
		return env, fmt.Errorf("%s: applications are submitted on %s, not on %s", env.Subject, TopicIntake, topic)
	}
	if len(env.Data) > 0 {
		var obj map[string]any
		if err := json.Unmarshal(env.Data, &obj); err != nil {
			return env, fmt.Errorf("%s: data must be a JSON object with the event's content: %w", env.Subject, err)
		}
	}
	return env, nil
}

// EncodeProcedureEvent renders a domain event as a CloudEvent whose id is
// "<reference>/<seq>", so the id itself is a deduplication key.
func EncodeProcedureEvent(e *ProcedureEvent) ([]byte, error) {
	return Encode(e.Reference+"/"+strconv.FormatInt(e.Seq, 10), Source, e.CloudEventType(), e.Reference, e.Time, e)
}

// DecodeProcedureEvent parses a plain domain event message (a sealed one
// fails: use DecodeProcedureEventMessage).
func DecodeProcedureEvent(msg []byte) (*ProcedureEvent, error) {
	e, sealed, err := DecodeProcedureEventMessage(msg)
	if err == nil && sealed != nil {
		return nil, fmt.Errorf("procedure event %s/%d is sealed: open it with its application's data key", sealed.Reference, sealed.Seq)
	}
	return e, err
}

// procedureEvent reads the plain domain event in env's data.
func procedureEvent(env Envelope) (*ProcedureEvent, error) {
	var e ProcedureEvent
	if err := json.Unmarshal(env.Data, &e); err != nil {
		return nil, fmt.Errorf("procedure event data: %w", err)
	}
	if e.Reference == "" || e.Seq < 1 || e.Kind == "" {
		return nil, fmt.Errorf("procedure event %s lacks reference, seq or kind", env.ID)
	}
	return &e, nil
}
