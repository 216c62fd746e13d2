package events_test

import (
	"crypto/cipher"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// procedureMessages are the events of a whole procedure as the worker
// writes them, plain and sealed with key.
func procedureMessages(tb testing.TB, key cipher.AEAD) [][]byte {
	tb.Helper()
	var msgs [][]byte
	for _, e := range storetest.Lifecycle("BA-2025-0001") {
		plain, err := events.EncodeProcedureEvent(e)
		if err != nil {
			tb.Fatal(err)
		}
		sealed, err := events.EncodeSealedProcedureEvent(e, key)
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, plain, sealed)
	}
	return msgs
}

// TestLeanDecodeIsTheSDKDecode: the one-pass decoder returns what the
// CloudEvents SDK's decoder with its second pass returns — the same
// events, the same sealed data, the same errors — for well-formed
// messages of every kind, plain and sealed, and for broken ones.
func TestLeanDecodeIsTheSDKDecode(t *testing.T) {
	key := aead(t)
	msgs := procedureMessages(t, key)
	good := len(msgs)
	sealed := string(msgs[1])
	broken := []string{
		strings.Replace(sealed, `"specversion":"1.0"`, `"specversion":"2.0"`, 1),
		strings.Replace(sealed, `"id":"BA-2025-0001/1"`, `"id":""`, 1),
		strings.Replace(sealed, `"source":"urn:amtsweg"`, `"source":""`, 1),
		strings.Replace(sealed, `"alg":"A256GCM"`, `"alg":"none"`, 1),
		strings.Replace(sealed, `"subject":"BA-2025-0001"`, `"subject":"BA-2025-0002"`, 1),
		strings.Replace(sealed, `"seq":1,`, `"seq":0,`, 1),
		strings.Replace(string(msgs[0]), `"kind":"received"`, `"kind":""`, 1),
		strings.Replace(string(msgs[0]), `"datacontenttype":"application/json"`, `"datacontenttype":"text/plain"`, 1),
		`{"specversion":"1.0","id":"x","source":"urn:x","type":"t","data_base64":"e30="}`,
		`{"specversion":"1.0","id":"x","source":"urn:x","type":"t","data":{"sealed":null}}`,
		`not json`,
		`{}`,
	}
	for i, b := range broken {
		if b == sealed || b == string(msgs[0]) {
			t.Fatalf("broken message %d is not broken: the test's replacement did not match", i)
		}
		msgs = append(msgs, []byte(b))
	}
	for i, msg := range msgs {
		e1, s1, err1 := events.DecodeProcedureEventMessage(msg)
		e2, s2, err2 := events.DecodeProcedureEventMessageSDK(msg)
		if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(e1, e2) || !reflect.DeepEqual(s1, s2) {
			t.Errorf("message %d: lean %+v %+v %v\n  SDK %+v %+v %v\n  %s", i, e1, s1, err1, e2, s2, err2, msg)
		}
		if (err1 == nil) != (i < good) {
			t.Errorf("message %d: error %v (good messages decode, broken ones do not)", i, err1)
		}
	}
}

// BenchmarkDecodeProcedureEvent decodes a procedure's sealed events with
// the one-pass decoder and with the SDK's, interleaved round by round.
//
//	go test ./events -run '^$' -bench DecodeProcedureEvent
func BenchmarkDecodeProcedureEvent(b *testing.B) {
	key := aead(b)
	var sealed [][]byte
	for i, m := range procedureMessages(b, key) {
		if i%2 == 1 {
			sealed = append(sealed, m)
		}
	}
	decoders := []struct {
		name string
		fn   func([]byte) (*events.ProcedureEvent, *events.SealedProcedureEvent, error)
	}{{"sdk", events.DecodeProcedureEventMessageSDK}, {"lean", events.DecodeProcedureEventMessage}}
	for round := 1; round <= 3; round++ {
		for _, d := range decoders {
			b.Run(fmt.Sprintf("%s/round-%d", d.name, round), func(b *testing.B) {
				b.ReportAllocs()
				for i := range b.N {
					if _, _, err := d.fn(sealed[i%len(sealed)]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
