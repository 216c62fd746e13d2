package failover

import (
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workers/intake"
)

// TestWorkerKilled runs 1,000 applications (AMTSWEG_FAILOVER_APPS) through
// two workers, SIGKILLs one of them while they are in flight and starts
// another. Every procedure completes exactly once, and each plugin side
// effect happens exactly once: one document in each application's e-file
// (efile store), one letter per application (notify ledger and outbox).
// fees.compute has no side effect to count: it computes from the schedule.
// With AMTSWEG_SOAK=1 it runs 5,000 applications and kills a worker three
// times.
func TestWorkerKilled(t *testing.T) {
	n := envInt(t, "AMTSWEG_FAILOVER_APPS", 1000)
	kills := 1
	if soak() {
		n, kills = envInt(t, "AMTSWEG_FAILOVER_APPS", 5000), 3
	}
	c := newCluster(t)
	since := time.Now().Add(-time.Second)
	workers := []*proc{c.start("worker", "worker-a"), c.start("worker", "worker-b")}
	c.start("intake", "intake")
	c.start("projector", "projector")
	c.deploy()

	refs := c.submit(submissions(n, 0), 200)
	t.Logf("%d applications submitted", n)
	for k := range kills {
		// Kill when a share of the applications is through, so that the
		// victim holds workflow tasks and plugin calls in flight.
		c.awaitCompleted(n*(k+1)/(kills+2), 10*time.Minute)
		victim := workers[0]
		workers = workers[1:]
		c.kill(victim)
		workers = append(workers, c.start("worker", victim.name+"-replacement"))
	}
	c.awaitCompleted(n, 10*time.Minute)
	t.Logf("plugin calls on a retried attempt, in the workers' logs: %d", c.retriedPluginCalls())

	c.checkWorkflows(since, refs)
	c.checkRows(refs)
	c.checkLetters(refs)
	c.checkEFile(refs)
	c.checkOffsets(events.TopicIntake, intake.GroupIntake, n)
}
