package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/instancemigration"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// migratedScenarios are building permits of bauantrag 1.0.0 moved to the
// test version 1.1.0 (definitions/migration/testdata) at a safe point;
// both runs of each are recorded: the one that moved, the one on 1.1.0.
var migratedScenarios = []struct {
	name   string
	before []recordAction // on 1.0.0, up to the safe point
	after  []recordAction // on 1.1.0
	// outcome is the expected end.
	outcome string
}{
	// Waiting for documents: the request and its deadline move; the
	// documents lead to the step 1.1.0 added.
	{name: "bauantrag-migrated-documents-permit-free",
		before: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":false,"fehlendeUnterlagen":["Standsicherheitsnachweis"],"behoerden":[]}`),
		},
		after: []recordAction{
			{event: `{"dokumente":[{"art":"standsicherheitsnachweis","datei":"statik.pdf"}]}`},
			directTask("nachreichung-sichten", clerk, `{"gesichtet":true}`),
			directTask("eingangspruefung-vereinfacht", clerk, `{"verfahren":"genehmigungsfreistellung","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
		},
		outcome: "permit-free"},
	// Awaiting the four-eyes approval of the draft: the approval and the
	// draft move to the renamed step; the lead approves on 1.1.0.
	{name: "bauantrag-migrated-approval-objection",
		before: []recordAction{
			directTask("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
			directTask("beteiligung/gemeinde/gemeinde-einvernehmen", clerk, `{"erteilt":true}`),
			directTask("pruefung", clerk, `{"ergebnis":"entscheidungsreif","fehlendeUnterlagen":[]}`),
			directTask("entscheidung-entwerfen", clerk, `{"ergebnis":"genehmigung","nebenbestimmungen":[],"begruendung":""}`),
		},
		after: []recordAction{
			directTask("bescheid-entwerfen", teamLead, `{"approved":true}`),
			{eventType: "de.amtsweg.applicant.notice-delivered.v1", event: `{"zugestelltAm":"2026-12-05","art":"abholbestaetigung"}`},
			{eventType: "de.amtsweg.applicant.objection-submitted.v1", event: `{"begruendung":"Abstandsflächen"}`},
		},
		outcome: "objection"},
}

// TestRecordMigratedHistories records, with -record, the histories of
// building permits moved from bauantrag 1.0.0 to 1.1.0 by a migration
// plan, for TestReplay. Without -record it does nothing (a tool, like
// TestRecordHistories).
func TestRecordMigratedHistories(t *testing.T) {
	if !*record {
		t.Skip("records only with -record: go test ./workflows -run TestRecordMigratedHistories -record")
	}
	d := startDev(t)
	defer d.Stop()
	ctx := context.Background()
	st, err := d.Stack.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Stack.Temporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := d.Stack.Procedures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.ReadFile("../definitions/migration/testdata/bauantrag-1.1.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&registry.Deployer{Store: st}).Deploy(ctx, "bauantrag-1.1.0.yaml", target, "record"); err != nil {
		t.Fatal(err)
	}
	planFile := "../definitions/migration/testdata/bauantrag-1.0.0-to-1.1.0.yaml"
	planSrc, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := instancemigration.Load(ctx, st, planFile, planSrc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../examples/bauantrag.json")
	if err != nil {
		t.Fatal(err)
	}
	var sub intake.Submission
	if err := json.Unmarshal(raw, &sub); err != nil {
		t.Fatal(err)
	}
	for _, sc := range migratedScenarios {
		t.Run(sc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			// Received on 20 November 2026, when 1.0.0 applied.
			w := kafkabus.NewWriter(d.Brokers, events.TopicIntake)
			rc, err := intake.Submit(ctx, w, sub, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			ref := rc.Reference
			playActions(ctx, t, d, ref, sub.Tenant, sc.before)
			// At the safe point, move it.
			for {
				v, err := c.QueryWorkflow(ctx, contract.WorkflowID(ref), "", contract.QueryState)
				var sv contract.StateView
				if err == nil && v.Get(&sv) == nil && sv.Waiting {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%s never waited at a safe point", ref)
				case <-time.After(100 * time.Millisecond):
				}
			}
			res, err := pc.Migrate(ctx, ref, plan.Request("record"))
			if err != nil || res.Status != contract.MigrationMoving {
				t.Fatalf("migrate: %+v, %v", res, err)
			}
			for {
				v, err := c.QueryWorkflow(ctx, contract.WorkflowID(ref), "", contract.QueryState)
				var sv contract.StateView
				if err == nil && v.Get(&sv) == nil && sv.Definition.Version == "1.1.0" {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%s never ran 1.1.0", ref)
				case <-time.After(100 * time.Millisecond):
				}
			}
			playActions(ctx, t, d, ref, sub.Tenant, sc.after)
			var out contract.Result
			if err := c.GetWorkflow(ctx, contract.WorkflowID(ref), "").Get(ctx, &out); err != nil || out.Outcome != sc.outcome {
				t.Fatalf("ended %+v, %v; want %s", out, err, sc.outcome)
			}
			runs := historyChain(ctx, t, c, contract.WorkflowID(ref), "")
			if len(runs) != 2 {
				t.Fatalf("%d runs, want the one on 1.0.0 and the one on 1.1.0", len(runs))
			}
			for i, h := range runs {
				writeHistory(t, fmt.Sprintf("%s-run%d.json", sc.name, i+1), h)
			}
		})
	}
}
