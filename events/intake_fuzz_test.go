package events_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/events"
)

// Seeds: a valid submission and applicant event as the portal sends them,
// and near misses. The committed corpus in testdata/fuzz holds more.
const (
	seedSubmission = `{"specversion":"1.0","id":"portal-1","source":"urn:thavel","type":"de.amtsweg.application.submitted.v1","subject":"ANWOHNERPARKEN-2026-K3QX7MZP2D4A","time":"2026-03-02T09:00:00Z","datacontenttype":"application/json","data":{"procedure":"anwohnerparken","tenant":"stadt-erfurt","accessCodeSha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","applicant":{"name":"Erika Mustermann"},"payload":{"zone":"A3","licensePlate":"EF-EM 2026","street":"Anger"}}}`
	seedApplicant  = `{"specversion":"1.0","id":"portal-2","source":"urn:thavel","type":"de.amtsweg.applicant.documents-submitted.v1","subject":"GEWERBE-2026-ABCDEFGHJKMN","time":"2026-03-03T10:00:00+01:00","data":{"dokumente":[{"name":"ausweis.pdf"}]}}`
)

func addSeeds(f *testing.F) {
	f.Add([]byte(seedSubmission))
	f.Add([]byte(seedApplicant))
	f.Add([]byte(strings.Replace(seedSubmission, `"specversion":"1.0",`, "", 1)))
	f.Add([]byte(strings.Replace(seedSubmission, `"payload":{`, `"payload":[{`, 1)))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"t","subject":"../etc","data_base64":"AAAA"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
}

// checkRefusal: a refused message is explained (the reason goes to the
// dead-letter topic).
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if strings.TrimSpace(err.Error()) == "" {
		t.Fatalf("refusal without a reason")
	}
}

// sameJSON reports whether a and b are the same JSON value; absent and
// null are the same (no applicant data).
func sameJSON(a, b json.RawMessage) bool {
	if string(a) == "null" {
		a = nil
	}
	if string(b) == "null" {
		b = nil
	}
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func sameEnvelope(a, b events.Envelope) bool {
	return a.ID == b.ID && a.Source == b.Source && a.Type == b.Type && a.Subject == b.Subject && a.Time.Equal(b.Time)
}

// FuzzDecodeSubmission: whatever the portal sends, the intake's decoding
// (workers/intake sends a refusal to the dead-letter topic with its reason)
// neither panics nor refuses without a reason; what it accepts encodes
// again to a message it accepts with the same content.
func FuzzDecodeSubmission(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		env, data, err := events.DecodeSubmission(events.TopicIntake, msg)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if err := events.ValidateReference(env.Subject); err != nil || data.Validate() != nil {
			t.Fatalf("accepted an invalid submission: %+v %+v", env, data)
		}
		again, err := events.Encode(env.ID, env.Source, env.Type, env.Subject, env.Time, data)
		if err != nil {
			t.Fatalf("accepted submission does not encode again: %v", err)
		}
		env2, data2, err := events.DecodeSubmission(events.TopicIntake, again)
		if err != nil {
			t.Fatalf("re-encoded submission refused: %v\n%s", err, again)
		}
		if !sameEnvelope(env, env2) || data.Procedure != data2.Procedure || data.Tenant != data2.Tenant ||
			data.AccessCodeSHA256 != data2.AccessCodeSHA256 || !sameJSON(data.Payload, data2.Payload) || !sameJSON(data.Applicant, data2.Applicant) {
			t.Fatalf("round trip changed the submission:\n%+v %+v\n%+v %+v", env, data, env2, data2)
		}
	})
}

// FuzzDecodeApplicantEvent: the same for an applicant's follow-up events.
func FuzzDecodeApplicantEvent(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		env, err := events.DecodeApplicantEvent(events.TopicApplicant, msg)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if env.Type == events.TypeApplicationSubmitted || events.ValidateReference(env.Subject) != nil {
			t.Fatalf("accepted %+v", env)
		}
		var data any
		if len(env.Data) > 0 {
			data = env.Data
		}
		again, err := events.Encode(env.ID, env.Source, env.Type, env.Subject, env.Time, data)
		if err != nil {
			t.Fatalf("accepted event does not encode again: %v", err)
		}
		env2, err := events.DecodeApplicantEvent(events.TopicApplicant, again)
		if err != nil {
			t.Fatalf("re-encoded event refused: %v\n%s", err, again)
		}
		if !sameEnvelope(env, env2) || !sameJSON(env.Data, env2.Data) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", env, env2)
		}
	})
}

// TestFuzzSeedsAreValid: the fuzzers' main seeds are accepted, so the
// round-trip property is exercised from the first run.
func TestFuzzSeedsAreValid(t *testing.T) {
	if _, _, err := events.DecodeSubmission(events.TopicIntake, []byte(seedSubmission)); err != nil {
		t.Errorf("submission seed: %v", err)
	}
	if _, err := events.DecodeApplicantEvent(events.TopicApplicant, []byte(seedApplicant)); err != nil {
		t.Errorf("applicant seed: %v", err)
	}
}
