package migration_test

import (
	"os"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/migration"
)

func load(t *testing.T, file string) *definitions.Procedure {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := definitions.Load(file, src, definitions.ValidateOptions{})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return p
}

func versions(t *testing.T) (*definitions.Procedure, *definitions.Procedure) {
	return load(t, "../procedures/bauantrag.yaml"), load(t, "testdata/bauantrag-1.1.0.yaml")
}

// TestPlanOfTheScenario checks the plan the migration scenario runs: the
// renamed step is mapped, unchanged steps map to themselves, and every
// top-level step of 1.0.0 can migrate.
func TestPlanOfTheScenario(t *testing.T) {
	src, dst := versions(t)
	raw, err := os.ReadFile("testdata/bauantrag-1.0.0-to-1.1.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := migration.Parse("testdata/bauantrag-1.0.0-to-1.1.0.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := migration.Validate(p, src, dst, definitions.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Map["entscheidung-entwerfen"] != "bescheid-entwerfen" || c.Map["unterlagen-nachreichen"] != "unterlagen-nachreichen" || c.Map["beteiligung"] != "beteiligung" {
		t.Errorf("mapping %v", c.Map)
	}
	if len(c.Blocked) != 0 {
		t.Errorf("blocked steps %v, want none", c.Blocked)
	}
	if c.Batch() != 25 || c.TaskPolicy() != migration.TasksKeep || c.TimerPolicy() != migration.TimersKeep {
		t.Errorf("batch %d, tasks %s, timers %s", c.Batch(), c.TaskPolicy(), c.TimerPolicy())
	}
	if d := c.Clocks["entscheidungsfrist"]; d.Policy != migration.DeadlineKeep {
		t.Errorf("decision period policy %+v, want keep", d)
	}
}

// TestPlanErrors: every mistake is reported at its line with a fix.
func TestPlanErrors(t *testing.T) {
	src, dst := versions(t)
	cases := []struct {
		name, plan, want string
	}{
		{"unknown source step", "steps:\n  entscheidung-entwerfn: bescheid-entwerfen\n", `plan.yaml:7: steps.entscheidung-entwerfn: bauantrag 1.0.0 has no top-level step "entscheidung-entwerfn" (did you mean entscheidung-entwerfen?)`},
		{"unknown target step", "steps:\n  entscheidung-entwerfen: bescheid\n", `plan.yaml:7: steps.entscheidung-entwerfen: bauantrag 1.1.0 has no top-level step "bescheid"`},
		{"task to wait", "steps:\n  entscheidung-entwerfen: unterlagen-nachreichen\n", "plan.yaml:7: steps.entscheidung-entwerfen: step entscheidung-entwerfen is a task, unterlagen-nachreichen is a wait"},
		{"expression does not check", "steps:\n  entscheidung-entwerfen: bescheid-entwerfen\ndata:\n  - set: sichtung\n    expr: 'eingang.vollstandig'\n", "plan.yaml:9: data[0].expr: expression"},
		{"expression of the wrong type", "steps:\n  entscheidung-entwerfen: bescheid-entwerfen\ndata:\n  - set: sichtung\n    expr: '\"ja\"'\n", "plan.yaml:9: data[0].expr: the expression is string, but sichtung in 1.1.0 is"},
		{"variable not in target", "steps:\n  entscheidung-entwerfen: bescheid-entwerfen\ndata:\n  - set: sichtun\n    expr: '{}'\n", `plan.yaml:9: data[0].set: bauantrag 1.1.0 has no variable "sichtun"`},
		{"recompute without reason", "steps:\n  entscheidung-entwerfen: bescheid-entwerfen\ndeadlines:\n  - clock: entscheidungsfrist\n    policy: recompute\n", "plan.yaml:9: deadlines[0].reason: policy recompute may shorten or end a running legal period and needs a reason"},
		{"unknown policy", "tasks: drop\n", `plan.yaml:6: tasks: unknown task policy "drop" (use keep or recreate)`},
		{"unknown field", "step:\n  a: b\n", "plan.yaml:6: field step not found"},
	}
	head := "kind: MigrationPlan\nid: p\nsource: {key: bauantrag, version: 1.0.0}\ntarget: {version: 1.1.0}\n# ...\n"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := migration.Parse("plan.yaml", []byte(head+tc.plan))
			if err == nil {
				_, err = migration.Validate(p, src, dst, definitions.ValidateOptions{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestUnmappedRemovedStepBlocksItsInstances: a step the target no longer
// has and the plan does not map is no error; its instances cannot migrate.
func TestUnmappedRemovedStepBlocksItsInstances(t *testing.T) {
	src, dst := versions(t)
	p, err := migration.Parse("plan.yaml", []byte("kind: MigrationPlan\nid: p\nsource: {key: bauantrag, version: 1.0.0}\ntarget: {version: 1.1.0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := migration.Validate(p, src, dst, definitions.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if why := c.Blocked["entscheidung-entwerfen"]; !strings.Contains(why, "not in 1.1.0") {
		t.Errorf("blocked %v", c.Blocked)
	}
	if _, ok := c.Map["entscheidung-entwerfen"]; ok {
		t.Error("an unmapped removed step is mapped")
	}
}
