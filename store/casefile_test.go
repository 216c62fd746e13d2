package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func TestCaseFile(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	const ref = "BA-2025-0200"
	// Up to the incident (seq 14), which stays open.
	if _, err := s.ApplyEvents(ctx, storetest.Lifecycle(ref)[:14]); err != nil {
		t.Fatal(err)
	}
	cf, err := s.CaseFile(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if cf.Tenant != "bauamt-erfurt" || cf.Procedure != "bauantrag" || cf.State != "incident" || cf.Title.De != "Bauantrag" ||
		!strings.Contains(string(cf.Payload), "Flurstück 17") || !strings.Contains(string(cf.Applicant), "Erika") ||
		cf.Milestone == nil || cf.Milestone.ID != "eingegangen" || cf.Outcome != nil {
		t.Errorf("case file %+v", cf)
	}
	var timeline []string
	for _, e := range cf.Timeline {
		timeline = append(timeline, fmt.Sprintf("%d:%s:%v", e.Seq, e.Text.De, e.Internal))
	}
	if got := strings.Join(timeline, "|"); got != "3:Antrag eingegangen:false|7:Vollständigkeit wird geprüft:true" {
		t.Errorf("timeline %s", got)
	}
	var deadlines []string
	for _, d := range cf.Deadlines {
		deadlines = append(deadlines, d.ID+":"+d.State+":"+d.Due)
	}
	if got := strings.Join(deadlines, "|"); got != "nachreichung:met:2025-02-10|entscheidung:running:2025-04-17" {
		t.Errorf("deadlines %s", got)
	}
	if len(cf.Requests) != 1 || cf.Requests[0].State != "fulfilled" || cf.Requests[0].Text.De == "" {
		t.Errorf("requests %+v", cf.Requests)
	}
	if len(cf.Incidents) != 1 || cf.Incidents[0].Step != "pruefen.fachverfahren" || cf.Incidents[0].Message == "" {
		t.Errorf("incidents %+v", cf.Incidents)
	}
	if len(cf.Tasks) != 1 || cf.Tasks[0].ID != ref+".t1" || cf.Tasks[0].Assignee != "alice" {
		t.Errorf("tasks %+v", cf.Tasks)
	}

	if _, err := s.CaseFile(ctx, "BA-2025-9999"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown reference: %v", err)
	}
	// Known only from a later event: not yet a case file.
	if _, err := s.ApplyEvents(ctx, storetest.Lifecycle("BA-2025-0201")[2:3]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CaseFile(ctx, "BA-2025-0201"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("half-projected application: %v", err)
	}
}

func TestOpenIncidentsPaging(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	var evs []*events.ProcedureEvent
	for i := range 5 {
		ref := fmt.Sprintf("BA-2025-03%02d", i)
		evs = append(evs, storetest.Received(ref, 1), storetest.Incident(ref, 2, events.KindIncident, "lookup"))
		if i == 2 {
			evs = append(evs, storetest.Incident(ref, 3, events.KindIncidentResolved, "lookup"))
		}
	}
	other := storetest.Incident("JE-2025-0001", 2, events.KindIncident, "lookup")
	other.Tenant = "stadt-jena"
	evs = append(evs, other)
	if _, err := s.ApplyEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var pages []string
	q := store.IncidentQuery{Tenant: "bauamt-erfurt", Limit: 2}
	for {
		p, err := s.OpenIncidents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, i := range p.Incidents {
			refs = append(refs, i.Reference)
			if i.Procedure != "bauantrag" || i.Step != "lookup" || i.Title.De != "Bauantrag" {
				t.Errorf("incident %+v", i)
			}
		}
		pages = append(pages, strings.Join(refs, ","))
		if p.NextCursor == "" {
			break
		}
		q.After = p.NextCursor
	}
	if got := strings.Join(pages, " | "); got != "BA-2025-0300,BA-2025-0301 | BA-2025-0303,BA-2025-0304" {
		t.Errorf("pages %s", got)
	}
	p, err := s.OpenIncidents(ctx, store.IncidentQuery{Tenant: "bauamt-erfurt", Reference: "BA-2025-0304"})
	if err != nil || len(p.Incidents) != 1 {
		t.Errorf("by reference: %+v %v", p, err)
	}
	if _, err := s.OpenIncidents(ctx, store.IncidentQuery{Tenant: "bauamt-erfurt", After: "bm9wZQ"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("forged cursor: %v", err)
	}
}
