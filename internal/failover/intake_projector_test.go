package failover

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/stack"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workers/projector"
)

// readModels are the projector's tables (store.ResetProjections empties
// them for a rebuild).
var readModels = []string{"applications", "timeline", "deadlines", "tasks", "requests", "incidents", "procedure_events", "audit_heads"}

// volatileColumns differ legitimately between the live projection and a
// rebuild: they record when the projector wrote a row (DEFAULT now() or
// "updated_at = now()" in store/apply.go), not anything the events say.
// Every other column, the audit chain's position and hashes included, must
// be equal.
var volatileColumns = []string{"applied_at", "updated_at"}

// TestIntakeAndProjectorKilled streams applications (400,
// AMTSWEG_FAILOVER_STREAM_APPS) into two intakes and two projectors and
// SIGKILLs one intake and one projector while they stream in, starting a
// replacement of each. No application is lost and none is started twice:
// one submission row, one application row and one workflow execution per
// reference, and every intake message committed. Then the live read models
// are compared row by row with a rebuild from the event topic
// (projector.Rebuild, as `amtsweg projector --rebuild`). With
// AMTSWEG_SOAK=1 it streams 3,000 and kills three times.
func TestIntakeAndProjectorKilled(t *testing.T) {
	n := envInt(t, "AMTSWEG_FAILOVER_STREAM_APPS", 400)
	kills := 1
	if soak() {
		n, kills = envInt(t, "AMTSWEG_FAILOVER_STREAM_APPS", 3000), 3
	}
	c := newCluster(t)
	since := time.Now().Add(-time.Second)
	c.start("worker", "worker-a")
	c.start("worker", "worker-b")
	intakes := []*proc{c.start("intake", "intake-a"), c.start("intake", "intake-b")}
	projectors := []*proc{c.start("projector", "projector-a"), c.start("projector", "projector-b")}
	c.deploy()

	// Stream the applications in chunks of 10, about 40 a second; kill
	// after each (kills+1)-th share of the stream, while the processes are
	// busy with what came before.
	const chunk = 10
	subs := submissions(n, 0)
	var refs []string
	killAt := map[int]bool{}
	for k := 1; k <= kills; k++ {
		killAt[(n/chunk)*k/(kills+1)] = true
	}
	for i := 0; len(subs) > 0; i++ {
		k := min(chunk, len(subs))
		refs = append(refs, c.submit(subs[:k], k)...)
		subs = subs[k:]
		if killAt[i] {
			c.kill(intakes[0])
			c.kill(projectors[0])
			t.Logf("killed after %d submissions, %d projected as completed", len(refs), c.completed())
			intakes = append(intakes[1:], c.start("intake", intakes[0].name+"-r"))
			projectors = append(projectors[1:], c.start("projector", projectors[0].name+"-r"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("%d applications submitted", len(refs))
	c.awaitCompleted(n, 10*time.Minute)

	c.checkWorkflows(since, refs)
	c.checkRows(refs)
	c.checkOffsets(events.TopicIntake, intake.GroupIntake, n)
	// The projectors have applied what the topic holds: their group
	// committed every event.
	c.checkOffsets(events.TopicProcedureEvents, projector.GroupID, c.topicMessages(events.TopicProcedureEvents))

	// Stop the projectors, take the live read models, rebuild them from
	// the topic and compare.
	for _, p := range projectors {
		c.stop(p)
	}
	live := c.snapshot()
	s := stack.New(stack.Config{Brokers: c.brokers, DatabaseURL: c.dbURL, MasterKey: masterKey,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.RebuildProjections(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	rebuilt := c.snapshot()
	for _, table := range readModels {
		compareRows(t, table, live[table], rebuilt[table])
	}
	if got := len(live["applications"]); got != n {
		t.Errorf("live projection has %d applications, want %d", got, n)
	}
}

// topicMessages is the number of messages topic holds.
func (c *cluster) topicMessages(topic string) int {
	c.t.Helper()
	ranges, err := kafkabus.Offsets(context.Background(), c.brokers, topic)
	if err != nil {
		c.t.Fatal(err)
	}
	total := 0
	for _, r := range ranges {
		total += int(r.End - r.First)
	}
	return total
}

// snapshot reads every read model's rows as JSON without the volatile
// columns, sorted.
func (c *cluster) snapshot() map[string][]string {
	c.t.Helper()
	out := map[string][]string{}
	for _, table := range readModels {
		out[table] = storetest.TableRows(c.t, c.dbURL, table, volatileColumns...)
	}
	return out
}

// compareRows reports the rows only one side has.
func compareRows(t *testing.T, table string, live, rebuilt []string) {
	t.Helper()
	in := map[string]int{}
	for _, r := range live {
		in[r]++
	}
	for _, r := range rebuilt {
		in[r]--
	}
	var diff []string
	for r, d := range in {
		switch {
		case d > 0:
			diff = append(diff, "only live: "+r)
		case d < 0:
			diff = append(diff, "only rebuilt: "+r)
		}
	}
	if len(diff) > 0 {
		t.Errorf("%s: live has %d rows, rebuild %d; %d differ, e.g.\n%s", table, len(live), len(rebuilt), len(diff), strings.Join(diff[:min(4, len(diff))], "\n"))
		return
	}
	t.Logf("%s: %d rows, live equals rebuild", table, len(live))
}
