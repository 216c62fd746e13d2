package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// TestStatusDocumentIsTheFormerResponse checks that the status endpoint,
// whose document PostgreSQL builds in one statement, sends byte for byte
// what the former Go code (LookupStatus, json.Marshal) sends, for
// applications at every stage and with texts that need escaping.
func TestStatusDocumentIsTheFormerResponse(t *testing.T) {
	ctx := context.Background()
	s, _ := storetest.New(t)
	full := storetest.Lifecycle("BA-2025-0100")
	cases := map[string][]*events.ProcedureEvent{
		"BA-2025-0101": storetest.Lifecycle("BA-2025-0101")[:1],  // received, no milestone yet
		"BA-2025-0102": storetest.Lifecycle("BA-2025-0102")[:10], // open request, deadline
		"BA-2025-0103": storetest.Lifecycle("BA-2025-0103")[:14], // an open step incident: running
		"BA-2025-0100": full,                                     // completed with outcome
	}
	// Texts that need escaping, a German-only milestone without
	// description, an unknown current milestone, a request without due
	// date, fractional seconds, a workflow-task incident.
	odd := "BA-2025-0104"
	ev := []*events.ProcedureEvent{storetest.Received(odd, 1)}
	ev[0].Received.Title = events.LocalText{De: `Bau & "Abriss" <neu>` + "\u2028\n\t\x01\b\f\\ 🏠"}
	m := storetest.Milestone(odd, 2, "eingegangen", "Eingegangen", "")
	m.Milestone.Description = events.LocalText{}
	tl := storetest.Timeline(odd, 3, "Zeile 1\nZeile 2 <b>&amp;</b> \u2029 é", false)
	tl.Time = storetest.T0.Add(1234500 * time.Microsecond)
	tl2 := storetest.Timeline(odd, 4, "ganz", false)
	tl2.Time = storetest.T0.Add(3 * time.Second)
	rq := storetest.Request(odd, 5, events.KindRequestOpened, "ohne-frist", "open", "")
	rq2 := storetest.Request(odd, 6, events.KindRequestOpened, "mit-frist", "open", "2025-03-01")
	cases[odd] = append(ev, m, tl, tl2, rq, rq2)
	unknownMs := "BA-2025-0105"
	cases[unknownMs] = []*events.ProcedureEvent{storetest.Received(unknownMs, 1),
		storetest.Milestone(unknownMs, 2, "nicht-im-plan", "Sonderweg", "Detour")}
	for ref, evs := range cases {
		if _, err := s.ApplyEvents(ctx, evs); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
	}

	if _, err := s.RaiseWorkflowTaskIncidents(ctx, []store.StuckProcedure{{Reference: odd, Message: "workflow task fails"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: s, ClientAddress: func(*http.Request) string { return "test" }})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	for ref := range cases {
		for _, lang := range []string{"de", "en"} {
			a := get(t, hs, "/api/v1/status/"+ref+"?lang="+lang, "X-Access-Code", storetest.AccessCode)
			if a.code != http.StatusOK || a.header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("%s %s: status %d %v: %s", ref, lang, a.code, a.header, a.body)
			}
			req := httptest.NewRequest(http.MethodGet, "/api/v1/status/"+ref, nil)
			resp, err := srv.LookupStatus(req, ref, storetest.AccessCode, lang)
			if err != nil {
				t.Fatalf("%s %s: former lookup: %v", ref, lang, err)
			}
			want, _ := json.Marshal(resp)
			want = append(want, '\n')
			if !bytes.Equal(a.body, want) {
				t.Errorf("%s %s: the document differs from the former response\n got: %s\nwant: %s", ref, lang, a.body, want)
			}
		}
	}
	// The odd application's document holds what it was built to test.
	a := get(t, hs, "/api/v1/status/"+odd, "X-Access-Code", storetest.AccessCode)
	for _, want := range []string{`\u0026`, `\u003c`, `\u2028`, `\n`, `\u0001`, `"time":"2025-01-06T09:00:01.2345Z"`,
		`"status":"technical-delay"`, `{"id":"ohne-frist","text":"Bitte Lageplan nachreichen"}`} {
		if !bytes.Contains(a.body, []byte(want)) {
			t.Errorf("odd application: %s missing in %s", want, a.body)
		}
	}
}
