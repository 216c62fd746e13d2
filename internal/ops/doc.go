// Package ops serves what operators and orchestrators ask of every
// long-running amtsweg process (worker, intake, projector, api) on a
// listener apart from the public API:
//
//   - GET /livez: the process is alive (its HTTP loop answers). An
//     orchestrator restarts the process when this fails.
//   - GET /readyz: every readiness check passes (PostgreSQL reachable,
//     Temporal frontend healthy, a Kafka broker reachable — whichever the
//     process needs). An orchestrator sends no work (traffic, or in
//     Kubernetes: counts the pod unavailable) while this fails; it answers
//     503 with the failing checks and their errors.
//   - GET /metrics: Prometheus metrics of the process, including the
//     Temporal SDK's (workflow task latency, schedule-to-start, poller
//     counts) when the process has a Temporal client.
//
// Each process kind has its own default port (DefaultListen), so that all
// four can run on one machine without colliding.
package ops
