package events_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
)

func aead(t testing.TB) cipher.AEAD {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestSealedEventRoundTrip seals a received event: the message is a
// CloudEvent with the id, type and subject of the plain one, holds no
// personal data in clear, and opens only with its key and unchanged.
func TestSealedEventRoundTrip(t *testing.T) {
	e := &events.ProcedureEvent{Reference: "BA-2026-0001", Seq: 1, Tenant: "lra", Kind: events.KindReceived,
		Time: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), Actor: "applicant",
		Received: &events.Received{Procedure: "bauantrag", Applicant: json.RawMessage(`{"name":"Erika Mustermann"}`)}}
	key := aead(t)
	msg, err := events.EncodeSealedProcedureEvent(e, key)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(msg), "Erika") || strings.Contains(string(msg), "bauantrag") || strings.Contains(string(msg), "applicant") {
		t.Fatalf("sealed message holds content in clear: %s", msg)
	}
	env, err := events.Decode(msg)
	if err != nil || env.ID != "BA-2026-0001/1" || env.Type != "de.amtsweg.procedure.received.v1" || env.Subject != "BA-2026-0001" {
		t.Fatalf("envelope %+v, %v", env, err)
	}
	plain, sealed, err := events.DecodeProcedureEventMessage(msg)
	if err != nil || plain != nil || sealed == nil || sealed.Seq != 1 || sealed.Kind != events.KindReceived || sealed.Tenant != "lra" {
		t.Fatalf("decode: %+v %+v %v", plain, sealed, err)
	}
	got, err := events.OpenProcedureEvent(sealed, key)
	if err != nil || string(got.Received.Applicant) != `{"name":"Erika Mustermann"}` || got.Actor != "applicant" {
		t.Fatalf("open: %+v %v", got, err)
	}
	if _, err := events.DecodeProcedureEvent(msg); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Errorf("a sealed event read as plain: %v", err)
	}

	// Another key, or a clear field moved to another event, does not open.
	if _, err := events.OpenProcedureEvent(sealed, aead(t)); err == nil {
		t.Error("opened with another key")
	}
	moved := *sealed
	moved.Seq = 2
	if _, err := events.OpenProcedureEvent(&moved, key); err == nil {
		t.Error("opened with a changed seq")
	}
	moved = *sealed
	moved.Reference = "BA-2026-0002"
	if _, err := events.OpenProcedureEvent(&moved, key); err == nil {
		t.Error("opened under another reference")
	}

	// Plain events are still read.
	pm, err := events.EncodeProcedureEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	if p, s, err := events.DecodeProcedureEventMessage(pm); err != nil || s != nil || p.Seq != 1 {
		t.Errorf("plain event: %+v %+v %v", p, s, err)
	}
}
