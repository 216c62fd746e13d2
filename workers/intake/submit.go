package intake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
)

// SubmitSource is the CloudEvents source of submissions made by Submit.
const SubmitSource = "urn:amtsweg:submit"

// Submission is an application as a portal submits it.
type Submission struct {
	// Procedure is the definition key, e.g. "bauantrag".
	Procedure string `json:"procedure"`
	// Tenant is the authority the application is addressed to.
	Tenant string `json:"tenant"`
	// Reference is the application's reference; generated when empty.
	Reference string          `json:"reference,omitempty"`
	Applicant json.RawMessage `json:"applicant,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// Receipt is what the portal tells the citizen after submitting: the
// reference and the access code for the status page.
type Receipt struct {
	Reference  string `json:"reference"`
	AccessCode string `json:"accessCode"`
}

// accessCodeAlphabet has no characters that are easily confused (0/O,
// 1/I/L).
const accessCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewAccessCode returns a random access code of 12 characters in groups of
// four, e.g. "7KQM-X3PD-HW9R" (about 59 bits of entropy).
func NewAccessCode() string {
	var b strings.Builder
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(accessCodeAlphabet[randIndex(len(accessCodeAlphabet))])
	}
	return b.String()
}

// randIndex returns a uniformly random index below n (n < 256) from
// crypto/rand, rejecting the bytes that would bias the result.
func randIndex(n int) int {
	limit := 256 - 256%n
	var buf [1]byte
	for {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		if int(buf[0]) < limit {
			return int(buf[0]) % n
		}
	}
}

// NewReference returns a reference "<PROCEDURE>-<YEAR>-<12 random
// base32 characters>", e.g. "BAUANTRAG-2025-K3QX7MZP2D4A".
func NewReference(procedure string, now time.Time) string {
	prefix := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return -1
	}, procedure)
	if len(prefix) > 20 {
		prefix = prefix[:20]
	}
	if prefix == "" {
		prefix = "APP"
	}
	return fmt.Sprintf("%s-%d-%s", prefix, now.Year(), rand.Text()[:12])
}

// ErrInvalidSubmission marks errors of Submission.Encode (and Submit) that
// are the submission's fault.
var ErrInvalidSubmission = errors.New("invalid submission")

// Encode checks s, fills in a reference when it has none, draws an access
// code and renders the intake CloudEvent. It returns the message (keyed by
// the reference) and the receipt.
func (s Submission) Encode(now time.Time) (kafka.Message, Receipt, error) {
	if s.Reference != "" {
		if err := events.ValidateReference(s.Reference); err != nil {
			return kafka.Message{}, Receipt{}, fmt.Errorf("%w: %w", ErrInvalidSubmission, err)
		}
	}
	code := NewAccessCode()
	data := events.ApplicationSubmitted{
		Procedure: s.Procedure, Tenant: s.Tenant, AccessCodeSHA256: events.HashAccessCode(code),
		Applicant: s.Applicant, Payload: s.Payload,
	}
	if err := data.Validate(); err != nil {
		// The file has no "data." level: name the fields as written there.
		return kafka.Message{}, Receipt{}, fmt.Errorf("%w: %s", ErrInvalidSubmission, strings.Replace(err.Error(), "data.", "", 1))
	}
	if s.Reference == "" {
		s.Reference = NewReference(s.Procedure, now)
	}
	value, err := events.Encode(rand.Text(), SubmitSource, events.TypeApplicationSubmitted, s.Reference, now, data)
	if err != nil {
		return kafka.Message{}, Receipt{}, fmt.Errorf("%w %s: %w", ErrInvalidSubmission, s.Reference, err)
	}
	if len(value) > MaxEventBytes {
		return kafka.Message{}, Receipt{}, fmt.Errorf("%w %s: the message is %d bytes, over the intake's limit of %d bytes (256 KiB): send documents as references, not inline",
			ErrInvalidSubmission, s.Reference, len(value), MaxEventBytes)
	}
	return kafka.Message{Key: []byte(s.Reference), Value: value}, Receipt{Reference: s.Reference, AccessCode: code}, nil
}

// Submit publishes s to events.TopicIntake through w (a writer from
// kafkabus.NewWriter with no topic of its own, or one for
// events.TopicIntake) and returns the receipt once Kafka has the message.
func Submit(ctx context.Context, w *kafka.Writer, s Submission, now time.Time) (Receipt, error) {
	msg, receipt, err := s.Encode(now)
	if err != nil {
		return Receipt{}, err
	}
	if w.Topic == "" {
		msg.Topic = events.TopicIntake
	}
	if err := w.WriteMessages(ctx, msg); err != nil {
		return Receipt{}, fmt.Errorf("publish %s to %s: %w", receipt.Reference, events.TopicIntake, err)
	}
	return receipt, nil
}
