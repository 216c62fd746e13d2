// Package postgres runs a private PostgreSQL cluster for `amtsweg dev` and
// the tests: initdb on first use, then the server as a child process on
// 127.0.0.1 with trust authentication for the superuser "postgres".
//
// It uses the PostgreSQL installed on the machine (initdb and postgres on
// PATH, or the newest under /usr/lib/postgresql/*/bin) and says what to
// install when there is none. PostgreSQL refuses to run as root, so when
// this process is root the cluster runs as the OS user "postgres" and the
// data dir belongs to it. When that user cannot reach the data dir (a
// parent such as /root is mode 0700), the cluster is placed under
// /var/lib/amtsweg/postgres instead, in a directory owned by postgres, and
// the place is recorded in the data dir's CLUSTER_LOCATION so that later
// starts find it; no permission on the data dir's path is changed.
//
// The server is bound to this process: it runs in its own process group
// and gets SIGINT (fast shutdown) from the kernel if this process dies, so
// no postmaster is left behind. Starting again on the same data dir keeps
// its databases; a postmaster.pid left by a killed run does not block the
// start. Production connects to its own PostgreSQL (DATABASE_URL, see
// Resolve).
package postgres
