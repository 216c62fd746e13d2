package xbau_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
	"github.com/amtsweg/amtsweg/plugins/xbau"
)

var (
	authority = &xbau.Authority{ID: "LRA-SOK-BAU", Name: "Landratsamt Saale-Orla-Kreis, Untere Bauaufsichtsbehörde"}
	applicant = xbau.Person{Name: "Erika Mustermann", Address: "Hauptstraße 1, 07907 Schleiz", Email: "erika@example.org"}
	project   = xbau.Project{Title: "Neubau Einfamilienhaus mit Garage", Parcel: &xbau.Parcel{District: "Schleiz", Flur: "3", Parcels: []string{"127/4", "128"}}}
)

func start(t *testing.T) *sdktest.Conn {
	t.Helper()
	t.Setenv("AMTSWEG_XBAU_AUTHORITY_ID", authority.ID)
	t.Setenv("AMTSWEG_XBAU_AUTHORITY_NAME", authority.Name)
	p, err := xbau.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	return sdktest.Start(t, p)
}

func call(activity, key string) plugins.Call {
	return plugins.Call{Activity: activity, Reference: "BA-2025-000123", IdempotencyKey: key, Attempt: 1}
}

func TestMessages(t *testing.T) {
	conn := start(t)
	ctx := context.Background()
	common := xbau.Common{Reference: "BA-2025-000123", CreatedAt: "2025-11-03T09:15:00+01:00"}
	fee := 2950.0
	cases := []struct {
		activity string
		in       any
		root     string
		want     []string
	}{
		{"receipt-confirmation", xbau.ReceiptInput{Common: common, ReceivedOn: "2025-11-01", Project: project, Applicant: applicant},
			"eingangsbestaetigung", []string{"<eingangsdatum>2025-11-01</eingangsdatum>", "<flurstueck>127/4</flurstueck>", "<antragsteller>", "<kennung>LRA-SOK-BAU</kennung>"}},
		{"missing-documents", xbau.MissingDocumentsInput{Common: common, Deadline: "2025-12-01", SuspendsPeriod: true, Applicant: applicant,
			Documents: []xbau.Document{{Title: "Standsicherheitsnachweis", Reason: "fehlt"}, {Title: "Lageplan"}}},
			"nachforderung", []string{"<fristhemmung>true</fristhemmung>", "<bezeichnung>Lageplan</bezeichnung>"}},
		{"participation-request", xbau.ParticipationInput{Common: common, Authority: xbau.Authority{ID: "TLDA", Name: "Thüringisches Landesamt für Denkmalpflege und Archäologie"},
			Project: project, Deadline: "2025-12-03", Request: "Stellungnahme zum Denkmalschutz (§ 13 ThürDSchG)",
			Attachments: []xbau.Attachment{{DocumentID: "lageplan", Title: "Lageplan.pdf", SHA256: strings.Repeat("ab", 32)}}},
			"beteiligungsanforderung", []string{"<behoerde>", "<kennung>TLDA</kennung>", "<sha256>abab"}},
		{"decision", xbau.DecisionInput{Common: common, Project: project, Outcome: "approved-with-conditions", DecidedOn: "2026-01-20",
			Conditions: []string{"Die Garage ist mit einem Gründach auszuführen."}, Fee: &fee, Applicant: applicant},
			"bescheid", []string{"<entscheidung>genehmigung-mit-nebenbestimmungen</entscheidung>", "<betrag>2950.00</betrag>", "<waehrung>EUR</waehrung>"}},
	}
	for _, c := range cases {
		var out xbau.Built
		if err := conn.CallWith(ctx, call(c.activity, "wf-7/"+c.activity), c.in, &out); err != nil {
			t.Fatalf("%s: %v", c.activity, err)
		}
		if out.MessageType != c.root || !strings.Contains(out.XML, `<`+c.root+` xmlns="urn:amtsweg:xbau-subset:1">`) ||
			!strings.Contains(out.XML, "<erstellungszeitpunkt>2025-11-03T09:15:00+01:00</erstellungszeitpunkt>") ||
			!strings.Contains(out.XML, "<nachrichtenUUID>"+out.MessageID+"</nachrichtenUUID>") || len(out.SHA256) != 64 {
			t.Fatalf("%s: %+v", c.activity, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out.XML, w) {
				t.Errorf("%s: XML lacks %s:\n%s", c.activity, w, out.XML)
			}
		}
		// Same idempotency key, same message (id and bytes).
		var again xbau.Built
		if err := conn.CallWith(ctx, call(c.activity, "wf-7/"+c.activity), c.in, &again); err != nil {
			t.Fatal(err)
		}
		if again.MessageID != out.MessageID || again.SHA256 != out.SHA256 {
			t.Errorf("%s: a retried call built a different message", c.activity)
		}
	}
}

func TestSchemaViolationsAreFinal(t *testing.T) {
	conn := start(t)
	ctx := context.Background()
	var pe *plugins.Error
	bad := xbau.ReceiptInput{Common: xbau.Common{Reference: "BA 2025 / 1"}, ReceivedOn: "2025-11-01", Project: project, Applicant: applicant}
	err := conn.CallWith(ctx, call("receipt-confirmation", "k1"), bad, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "/eingangsbestaetigung/aktenzeichen") {
		t.Fatalf("reference with spaces: %v", err)
	}
	bad = xbau.ReceiptInput{Common: xbau.Common{Reference: "BA-1"}, ReceivedOn: "01.11.2025", Project: project, Applicant: applicant}
	err = conn.CallWith(ctx, call("receipt-confirmation", "k2"), bad, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "eingangsdatum") {
		t.Fatalf("German date format: %v", err)
	}
	att := xbau.ParticipationInput{Common: xbau.Common{Reference: "BA-1"}, Authority: *authority, Project: project, Deadline: "2025-12-01",
		Request: "Stellungnahme", Attachments: []xbau.Attachment{{DocumentID: "x", Title: "x", SHA256: "nicht-hex"}}}
	err = conn.CallWith(ctx, call("participation-request", "k3"), att, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "sha256") {
		t.Fatalf("bad hash: %v", err)
	}
	dec := xbau.DecisionInput{Common: xbau.Common{Reference: "BA-1"}, Project: project, Outcome: "approved-with-conditions", DecidedOn: "2026-01-20", Applicant: applicant}
	err = conn.CallWith(ctx, call("decision", "k4"), dec, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "condition") {
		t.Fatalf("conditions missing: %v", err)
	}
}

func TestAuthorRequired(t *testing.T) {
	t.Setenv("AMTSWEG_XBAU_AUTHORITY_ID", "")
	t.Setenv("AMTSWEG_XBAU_AUTHORITY_NAME", "")
	p, err := xbau.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	conn := sdktest.Start(t, p)
	in := xbau.ReceiptInput{Common: xbau.Common{Reference: "BA-1"}, ReceivedOn: "2025-11-01", Project: project, Applicant: applicant}
	var pe *plugins.Error
	if err := conn.CallWith(context.Background(), call("receipt-confirmation", "k"), in, nil); !errors.As(err, &pe) || !strings.Contains(pe.Message, "author") {
		t.Fatalf("no author: %v", err)
	}
	in.Author = authority
	if err := conn.CallWith(context.Background(), call("receipt-confirmation", "k"), in, nil); err != nil {
		t.Fatal(err)
	}
}
