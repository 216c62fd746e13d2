package events

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// SealAlgorithm names the encryption of a sealed procedure event: AES-256
// in Galois/Counter Mode with a random 96-bit nonce (crypto/aes,
// crypto/cipher), under the application's data key.
const SealAlgorithm = "A256GCM"

// SealedProcedureEvent is the data of a procedure event whose content is
// encrypted with its application's data key (crypto-shredding: erasure
// destroys the key, and every copy of the event on the topic becomes
// unreadable). What a consumer needs to route, order and deduplicate the
// event stays in clear and carries no personal data: reference, seq,
// tenant, kind and time; the CloudEvent's id ("<reference>/<seq>"), type
// and subject (the reference) are those of the plain event. Everything
// else — the whole ProcedureEvent as JSON, including the applicant's data,
// form data and who acted — is in Sealed.
type SealedProcedureEvent struct {
	Reference string    `json:"reference"`
	Seq       int64     `json:"seq"`
	Tenant    string    `json:"tenant"`
	Kind      Kind      `json:"kind"`
	Time      time.Time `json:"time"`
	Sealed    *Sealed   `json:"sealed"`
}

// Sealed is an encrypted procedure event. The clear fields of its
// SealedProcedureEvent are bound to it as additional authenticated data
// (see sealAAD), so they cannot be changed or moved to another event.
type Sealed struct {
	// Alg is SealAlgorithm.
	Alg string `json:"alg"`
	// Nonce and Ciphertext are base64 in JSON.
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// ErrKeyDestroyed is returned (wrapped) when a sealed event's data key was
// destroyed by erasure: the event can never be read again.
var ErrKeyDestroyed = errors.New("the application's data key was destroyed by erasure")

// sealAAD is the additional authenticated data of a sealed event.
func sealAAD(ref string, seq int64, tenant string, kind Kind) []byte {
	return []byte("amtsweg.procedure-event.v1\x00" + ref + "\x00" + strconv.FormatInt(seq, 10) + "\x00" + tenant + "\x00" + string(kind))
}

// EncodeSealedProcedureEvent renders e as a CloudEvent whose data is a
// SealedProcedureEvent, e's JSON encrypted with key (an AES-256-GCM AEAD
// of the application's data key).
func EncodeSealedProcedureEvent(e *ProcedureEvent, key cipher.AEAD) ([]byte, error) {
	plain, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("seal event %s/%d: %w", e.Reference, e.Seq, err)
	}
	nonce := make([]byte, key.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal event %s/%d: nonce: %w", e.Reference, e.Seq, err)
	}
	data := SealedProcedureEvent{Reference: e.Reference, Seq: e.Seq, Tenant: e.Tenant, Kind: e.Kind, Time: e.Time,
		Sealed: &Sealed{Alg: SealAlgorithm, Nonce: nonce,
			Ciphertext: key.Seal(nil, nonce, plain, sealAAD(e.Reference, e.Seq, e.Tenant, e.Kind))}}
	return Encode(e.Reference+"/"+strconv.FormatInt(e.Seq, 10), Source, e.CloudEventType(), e.Reference, e.Time, data)
}

// DecodeProcedureEventMessage parses a domain event message, plain or
// sealed. For a plain event it returns the event; for a sealed one the
// sealed data, to be opened with OpenProcedureEvent once its key is known.
//
// A well-formed message — what the worker writes: a CloudEvent 1.0 in
// structured JSON mode with id, source and type, JSON data — is read in
// one pass of encoding/json, envelope and data together (leanMessage).
// Anything else takes the CloudEvents SDK's decoder, whose errors say what
// is wrong; both accept and return the same for well-formed messages.
func DecodeProcedureEventMessage(msg []byte) (*ProcedureEvent, *SealedProcedureEvent, error) {
	var m leanMessage
	if err := json.Unmarshal(msg, &m); err != nil || !m.wellFormed() {
		return decodeProcedureEventMessageSDK(msg)
	}
	if m.Data.Sealed == nil {
		e := m.Data.ProcedureEvent
		if e.Reference == "" || e.Seq < 1 || e.Kind == "" {
			return nil, nil, fmt.Errorf("procedure event %s lacks reference, seq or kind", m.ID)
		}
		return &e, nil, nil
	}
	d := &m.Data
	s := &SealedProcedureEvent{Reference: d.Reference, Seq: d.Seq, Tenant: d.Tenant, Kind: d.Kind, Time: d.Time, Sealed: d.Sealed}
	if err := checkSealed(m.ID, m.Subject, s); err != nil {
		return nil, nil, err
	}
	return nil, s, nil
}

// leanMessage is a procedure event message as the worker writes it: the
// CloudEvent's attributes the projector needs and its data, plain or
// sealed, decoded in the same pass.
type leanMessage struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	DataContentType string          `json:"datacontenttype"`
	DataBase64      json.RawMessage `json:"data_base64"`
	Data            struct {
		ProcedureEvent
		Sealed *Sealed `json:"sealed"`
	} `json:"data"`
}

// wellFormed: the attributes the CloudEvents SDK requires are there, the
// data is JSON (not base64) and held an event (a reference). Messages that
// are not take the SDK's decoder.
func (m *leanMessage) wellFormed() bool {
	return m.SpecVersion == "1.0" && m.ID != "" && m.Source != "" && m.Type != "" && len(m.DataBase64) == 0 &&
		(m.DataContentType == "" || m.DataContentType == "application/json" || m.DataContentType == "text/json") &&
		m.Data.Reference != ""
}

// decodeProcedureEventMessageSDK is DecodeProcedureEventMessage through the
// CloudEvents SDK's decoder and a second pass over the data.
func decodeProcedureEventMessageSDK(msg []byte) (*ProcedureEvent, *SealedProcedureEvent, error) {
	env, err := Decode(msg)
	if err != nil {
		return nil, nil, err
	}
	var probe struct {
		Sealed json.RawMessage `json:"sealed"`
	}
	if err := json.Unmarshal(env.Data, &probe); err != nil {
		return nil, nil, fmt.Errorf("procedure event data: %w", err)
	}
	if len(probe.Sealed) == 0 || string(probe.Sealed) == "null" {
		e, err := procedureEvent(env)
		return e, nil, err
	}
	var s SealedProcedureEvent
	if err := json.Unmarshal(env.Data, &s); err != nil {
		return nil, nil, fmt.Errorf("sealed procedure event data: %w", err)
	}
	if err := checkSealed(env.ID, env.Subject, &s); err != nil {
		return nil, nil, err
	}
	return nil, &s, nil
}

// checkSealed checks a sealed event's clear fields against its CloudEvent
// (id and subject).
func checkSealed(id, subject string, s *SealedProcedureEvent) error {
	switch {
	case s.Reference == "" || s.Seq < 1 || s.Kind == "":
		return fmt.Errorf("sealed procedure event %s lacks reference, seq or kind", id)
	case s.Sealed.Alg != SealAlgorithm:
		return fmt.Errorf("sealed procedure event %s: algorithm %q is not supported (only %s)", id, s.Sealed.Alg, SealAlgorithm)
	case subject != s.Reference:
		return fmt.Errorf("sealed procedure event %s: subject %q is not its reference %q", id, subject, s.Reference)
	}
	return nil
}

// OpenProcedureEvent decrypts a sealed event with its application's data
// key and checks that the content matches the clear fields.
func OpenProcedureEvent(s *SealedProcedureEvent, key cipher.AEAD) (*ProcedureEvent, error) {
	if len(s.Sealed.Nonce) != key.NonceSize() {
		return nil, fmt.Errorf("sealed event %s/%d: nonce of %d bytes, want %d", s.Reference, s.Seq, len(s.Sealed.Nonce), key.NonceSize())
	}
	plain, err := key.Open(nil, s.Sealed.Nonce, s.Sealed.Ciphertext, sealAAD(s.Reference, s.Seq, s.Tenant, s.Kind))
	if err != nil {
		return nil, fmt.Errorf("sealed event %s/%d does not decrypt with its application's key (altered, or sealed with another key): %w", s.Reference, s.Seq, err)
	}
	var e ProcedureEvent
	if err := json.Unmarshal(plain, &e); err != nil {
		return nil, fmt.Errorf("sealed event %s/%d: content: %w", s.Reference, s.Seq, err)
	}
	if e.Reference != s.Reference || e.Seq != s.Seq || e.Kind != s.Kind || e.Tenant != s.Tenant {
		return nil, fmt.Errorf("sealed event %s/%d: the content is of event %s/%d (%s)", s.Reference, s.Seq, e.Reference, e.Seq, e.Kind)
	}
	return &e, nil
}
