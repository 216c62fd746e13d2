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
func DecodeProcedureEventMessage(msg []byte) (*ProcedureEvent, *SealedProcedureEvent, error) {
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
	switch {
	case s.Reference == "" || s.Seq < 1 || s.Kind == "":
		return nil, nil, fmt.Errorf("sealed procedure event %s lacks reference, seq or kind", env.ID)
	case s.Sealed.Alg != SealAlgorithm:
		return nil, nil, fmt.Errorf("sealed procedure event %s: algorithm %q is not supported (only %s)", env.ID, s.Sealed.Alg, SealAlgorithm)
	case env.Subject != s.Reference:
		return nil, nil, fmt.Errorf("sealed procedure event %s: subject %q is not its reference %q", env.ID, env.Subject, s.Reference)
	}
	return nil, &s, nil
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
