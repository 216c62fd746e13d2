package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/instancemigration"
	"github.com/amtsweg/amtsweg/internal/registry"
)

var (
	designerErf = auth.Principal{Subject: "dora", Tenant: "bauamt-erfurt", Roles: []string{api.RoleDesigner}}
)

// pruefungPlan moves pruefung 1.0.0 to 1.1.0, which renames the review.
const pruefungPlan = `kind: MigrationPlan
id: pruefung-1.0.0-to-1.1.0
source: {key: pruefung, version: 1.0.0}
target: {version: 1.1.0}
steps:
  review: pruefen
`

// TestMigrationRoutes: the designer's dry run lists the running
// applications of the designer's authority only; the operator sees a
// run's progress for the applications of their authority only; clerks see
// neither.
func TestMigrationRoutes(t *testing.T) {
	e := newClerkEnv(t, true)
	v2 := strings.NewReplacer("version: 1.0.0", "version: 1.1.0", `validFrom: "2024-01-01"`, `validFrom: "2099-01-01"`,
		"id: review", "id: pruefen", "next: review", "next: pruefen").Replace(fourEyesDefinition)
	dep := &registry.Deployer{Store: e.store, Catalog: definitions.Activities{
		"registry.lookup": {Input: json.RawMessage(`{"type":"object"}`), Output: json.RawMessage(`{"type":"object"}`)},
	}}
	if _, err := dep.Deploy(context.Background(), "pruefung-1.1.0.yaml", []byte(v2), "test"); err != nil {
		t.Fatalf("deploy 1.1.0: %v", err)
	}
	erfurt, jenaRef := uniqueRef(), uniqueRef()+"J"
	e.startApplication(erfurt, "bauamt-erfurt")
	e.startApplication(jenaRef, "stadt-jena")
	e.waitTasks(anna, "?reference="+erfurt, hasTasks(1))
	e.waitTasks(jena, "?reference="+jenaRef, hasTasks(1))

	wantCode(t, "clerk dry run", e.as(anna, "POST", "/api/v1/migrations/dry-run", pruefungPlan), http.StatusForbidden)
	wantCode(t, "broken plan", e.as(designerErf, "POST", "/api/v1/migrations/dry-run", pruefungPlan+"  revieww: pruefen\n"),
		http.StatusUnprocessableEntity, `no top-level step \"revieww\"`)
	rep := must[instancemigration.DryRunReport](t, e.as(designerErf, "POST", "/api/v1/migrations/dry-run", pruefungPlan), http.StatusOK)
	if len(rep.Move) != 1 || rep.Move[0].Reference != erfurt || rep.Move[0].To != "pruefen" || len(rep.Cannot) != 0 {
		t.Errorf("dry run of an Erfurt designer: %+v", rep)
	}

	plan, err := instancemigration.Load(context.Background(), e.store, "plan.yaml", []byte(pruefungPlan))
	if err != nil {
		t.Fatal(err)
	}
	r := &instancemigration.Runner{Store: e.store, Temporal: e.pc.C, Actor: "test"}
	prog, err := r.Run(context.Background(), plan)
	if err != nil || prog.Counts["moved"] != 2 {
		t.Fatalf("run: %+v, %v", prog, err)
	}
	wantCode(t, "clerk progress", e.as(anna, "GET", "/api/v1/migrations", ""), http.StatusForbidden)
	runs := must[struct {
		Runs []struct {
			PlanID string         `json:"planId"`
			State  string         `json:"state"`
			Counts map[string]int `json:"counts"`
		} `json:"runs"`
	}](t, e.as(opErf, "GET", "/api/v1/migrations", ""), http.StatusOK)
	if len(runs.Runs) != 1 || runs.Runs[0].PlanID != plan.ID || runs.Runs[0].State != "finished" || runs.Runs[0].Counts["moved"] != 2 {
		t.Errorf("runs %+v", runs)
	}
	view := must[api.MigrationRunView](t, e.as(opErf, "GET", "/api/v1/migrations/"+plan.ID, ""), http.StatusOK)
	if len(view.Items) != 1 || view.Items[0].Reference != erfurt || view.Items[0].Status != "moved" {
		t.Errorf("an Erfurt operator sees %+v", view.Items)
	}
	wantCode(t, "unknown plan", e.as(opErf, "GET", "/api/v1/migrations/nope", ""), http.StatusNotFound)

	// The moved application goes on on 1.1.0: its task keeps its id.
	l := e.waitTasks(anna, "?reference="+erfurt, hasTasks(1))
	wantCode(t, "complete after the move", e.as(anna, "POST", "/api/v1/tasks/"+l.Tasks[0].ID+"/complete", `{"data": {"approved": true}}`), http.StatusOK)
}
