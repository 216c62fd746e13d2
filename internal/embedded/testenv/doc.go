// Package testenv gives tests the real services Amtsweg runs on, started
// the way `amtsweg dev` starts them: PostgreSQL (a private cluster, or the
// server in DATABASE_URL), Kafka (embedded broker) and Temporal (embedded
// server). Each service starts on first use and is shared by all tests of
// the test binary; nothing is skipped when a service is missing, a test
// fails saying what to install instead.
//
// A package that uses testenv must run its tests through Main, which stops
// the services when the tests are done:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Isolation between tests: Postgres gives every call a new empty database;
// Kafka and Temporal are shared, so tests use topic names, task queues and
// workflow IDs of their own (e.g. derived from t.Name()).
package testenv
