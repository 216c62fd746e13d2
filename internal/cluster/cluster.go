package cluster

import (
	"context"
	"errors"
	"log/slog"
)

// Roles of the processes a Cluster runs.
const (
	RoleWorker    = "worker"
	RoleIntake    = "intake"
	RoleProjector = "projector"
	RoleAPI       = "api"
	RoleTemporal  = "temporal"
	RoleKafka     = "kafka"
)

// errNotImplemented marks parts of the API not built yet.
var errNotImplemented = errors.New("cluster: not implemented yet")

// Options configure a cluster on one box.
type Options struct {
	// Binary is the path of the amtsweg binary, built with -tags dev
	// (the engines' subcommands are in the dev build). Required.
	Binary string
	// DataDir keeps everything: PostgreSQL (when private), Kafka's data,
	// the OIDC issuer's keys, each process's data dir. Required.
	DataDir string
	// DatabaseURL of a PostgreSQL the cluster uses. Empty: start a
	// private PostgreSQL in DataDir. Temporal's databases (temporal,
	// temporal_visibility) are created on the same server.
	DatabaseURL string
	// Brokers is the number of Kafka brokers. Default 3.
	Brokers int
	// TemporalShards is the Temporal history shard count. Default 4. It
	// is fixed once the Temporal database exists.
	TemporalShards int
	// Workers, Intakes, Projectors and APIs are the replica counts.
	// Default 2 each.
	Workers, Intakes, Projectors, APIs int
	// Env is extra environment for the Amtsweg processes (KEY=value).
	Env []string
	// Logger receives the launcher's own messages. Default slog.Default().
	Logger *slog.Logger
}

// Cluster is a running cluster on one box. Close stops it.
type Cluster struct {
	opts Options
}

// Process is one OS process of a cluster: an Amtsweg replica or an engine.
type Process struct {
	// Role is one of the Role constants.
	Role string
	// Index numbers the replicas of a role from 0.
	Index int
}

// Start starts the cluster and returns when every process is ready
// (its /readyz answers ready; Temporal and Kafka answer clients).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	return nil, errNotImplemented
}

// Processes returns the running and stopped processes of a role, in the
// order they were started.
func (c *Cluster) Processes(role string) []*Process { return nil }

// StartProcess starts one more replica of an Amtsweg role (worker, intake,
// projector, api) and waits until it is ready.
func (c *Cluster) StartProcess(ctx context.Context, role string) (*Process, error) {
	return nil, errNotImplemented
}

// APIURLs are the base URLs of the API replicas, e.g. http://127.0.0.1:8081.
func (c *Cluster) APIURLs() []string { return nil }

// DatabaseURL is Amtsweg's PostgreSQL database.
func (c *Cluster) DatabaseURL() string { return "" }

// KafkaBrokers are the bootstrap addresses of all brokers.
func (c *Cluster) KafkaBrokers() []string { return nil }

// TemporalAddress is the Temporal frontend, host:port.
func (c *Cluster) TemporalAddress() string { return "" }

// Namespace is the Temporal namespace Amtsweg runs in.
func (c *Cluster) Namespace() string { return "" }

// IssuerURL is the clerks' OIDC issuer (the dev issuer of the launcher).
func (c *Cluster) IssuerURL() string { return "" }

// MintToken returns a bearer token of the cluster's OIDC issuer for a
// clerk (subject, tenant, roles), valid for an hour.
func (c *Cluster) MintToken(subject, tenant string, roles ...string) (string, error) {
	return "", errNotImplemented
}

// StopBroker takes Kafka broker id (0-based) out of the Kafka cluster;
// its partitions move to the other brokers.
func (c *Cluster) StopBroker(ctx context.Context, id int) error { return errNotImplemented }

// StartBroker brings broker id back on its old port.
func (c *Cluster) StartBroker(ctx context.Context, id int) error { return errNotImplemented }

// ShuffleLeaders moves partition leadership among the Kafka brokers.
func (c *Cluster) ShuffleLeaders(ctx context.Context) error { return errNotImplemented }

// Close stops the Amtsweg processes (SIGTERM), then Kafka, Temporal and
// the private PostgreSQL, in that order.
func (c *Cluster) Close() error { return errNotImplemented }

// Kill sends SIGKILL and waits for the process to end.
func (p *Process) Kill() error { return errNotImplemented }

// Stop sends SIGTERM and waits (30 s, then SIGKILL).
func (p *Process) Stop() error { return errNotImplemented }

// Restart starts the stopped or killed process again with the same ports
// and settings and waits until it is ready.
func (p *Process) Restart(ctx context.Context) error { return errNotImplemented }

// Output is what the process wrote to stdout and stderr so far (the last
// MiB, across restarts).
func (p *Process) Output() string { return "" }

// OpsURL is the base URL of the process's /livez, /readyz and /metrics
// ("" for the engines).
func (p *Process) OpsURL() string { return "" }

// Running reports whether the process is running.
func (p *Process) Running() bool { return false }
