package suite

import (
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/bench/benchplugin"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workers/intake"
)

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.N != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Errorf("summarize 1..100 ms: %+v", l)
	}
	if l := summarize(nil); l.N != 0 || l.P99 != 0 {
		t.Errorf("summarize nothing: %+v", l)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median 1,2,3 = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median 1..4 = %v", m)
	}
}

// The suite's definitions are valid against the benchmark plugin's own
// schemas, as deployment checks them against the worker's catalog.
func TestDefinitionsMatchThePlugin(t *testing.T) {
	p := benchplugin.Plugin()
	cat := definitions.Activities{}
	for _, a := range p.Activities {
		cat[p.Name+"."+a.Name] = definitions.ActivitySchemas{Input: a.Input, Output: a.Output}
	}
	for _, key := range []string{KeyBenchmark, KeyOpen} {
		src, err := definitionSource(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := definitions.Load(key+".yaml", src, definitions.ValidateOptions{Activities: cat}); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// The backlog is exactly n valid events, each application's in sequence.
func TestBacklogEvents(t *testing.T) {
	for _, n := range []int{1, 11, 12, 2500} {
		got := 0
		last := map[string]int64{}
		err := backlogEvents("T", n, func(e *events.ProcedureEvent) error {
			got++
			if err := store.ValidateEvent(e); err != nil {
				t.Fatalf("event %d: %v", got, err)
			}
			if e.Seq != last[e.Reference]+1 {
				t.Fatalf("%s: seq %d after %d", e.Reference, e.Seq, last[e.Reference])
			}
			last[e.Reference] = e.Seq
			return nil
		})
		if err != nil || got != n {
			t.Errorf("backlogEvents(%d) yielded %d events: %v", n, got, err)
		}
	}
}

func TestSeedAccessCodes(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		c := seedAccessCode(i)
		if len(c) != 14 || c[4] != '-' || c[9] != '-' || seen[c] {
			t.Fatalf("access code %d: %q", i, c)
		}
		seen[c] = true
		if err := events.ValidateReference(seedRef(i)); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := seedAccessCode(7), seedAccessCode(7); a != b {
		t.Error("access codes are not reproducible")
	}
}

// The ablation's last variant is the stack's default configuration, so
// that "after" is what amtsweg dev runs.
func TestVariants(t *testing.T) {
	last := Variants[len(Variants)-1]
	if last.IntakeConsumers != intake.DefaultIntakeConsumers || last.TemporalCompression != "none" || last.ClaimFirst {
		t.Errorf("the last variant %+v is not the default configuration", last)
	}
	first := Variants[0]
	if !first.DefinitionsInHistory || !first.AllVisibilityIndexes || first.OwnVisibilityFile {
		t.Errorf("the first variant %+v is not the configuration before issue #20's engine levers", first)
	}
	if last.DefinitionsInHistory || last.AllVisibilityIndexes || last.OwnVisibilityFile {
		t.Errorf("the last variant %+v does not have the engine levers the stack runs by default", last)
	}
}

func TestLastExecuted(t *testing.T) {
	log := "2026-11-23 13:00:00.000 UTC [42] LOG:  duration: 0.210 ms  execute stmtcache_1: SELECT a FROM tasks WHERE tenant = $1\n" +
		"\t  AND role = $2\n" +
		"2026-11-23 13:00:00.000 UTC [42] DETAIL:  parameters: $1 = 'amt-01', $2 = 'it''s', $3 = NULL\n" +
		"2026-11-23 13:00:00.100 UTC [43] LOG:  duration: 0.110 ms  execute <unnamed>: SELECT 1\n"
	q, params, err := lastExecuted(log, "FROM tasks WHERE tenant = $1")
	if err != nil {
		t.Fatal(err)
	}
	if q != "SELECT a FROM tasks WHERE tenant = $1\n  AND role = $2" {
		t.Errorf("query %q", q)
	}
	if len(params) != 3 || params[0] != "'amt-01'" || params[1] != "'it''s'" || params[2] != "NULL" {
		t.Errorf("params %q", params)
	}
	if _, _, err := lastExecuted(log, "FROM nowhere"); err == nil {
		t.Error("found a statement that is not in the log")
	}
}

func TestBucketQuantile(t *testing.T) {
	bounds := []float64{0.005, 0.01, 0.02, 0.04}
	before := []uint64{1, 1, 1, 1}
	after := []uint64{51, 91, 100, 101} // 50 <=5ms, 40 <=10ms, 9 <=20ms, 1 <=40ms
	if q := bucketQuantile(bounds, before, after, 0.5); q != 5 {
		t.Errorf("p50 %v ms", q)
	}
	if q := bucketQuantile(bounds, before, after, 0.99); q != 20 {
		t.Errorf("p99 %v ms", q)
	}
}
