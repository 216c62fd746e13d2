package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/amtsweg/amtsweg/internal/embedded/internal/dirlock"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// ClusterOptions configure an embedded Kafka cluster of several brokers.
type ClusterOptions struct {
	// DataDir keeps topics, messages and committed offsets across
	// restarts. Empty means in memory.
	DataDir string
	// Ports of the brokers on 127.0.0.1, one per broker (e.g. three for
	// three brokers). Required: clients and restarts need stable ports.
	Ports []int
	// Topics are created at start unless they exist.
	Topics []kafkabus.TopicSpec
	// Logger receives the brokers' warnings and errors. Default
	// slog.Default().
	Logger *slog.Logger
}

// Cluster is a running embedded Kafka cluster of several brokers in one
// process (kfake). Brokers can be taken out and brought back, and
// partition leadership moved, to rehearse a broker failure.
type Cluster struct {
	cluster   *kfake.Cluster
	ports     []int
	lock      *dirlock.Lock
	mu        sync.Mutex
	down      map[int]bool
	closeOnce sync.Once
}

// StartCluster starts len(opts.Ports) brokers with node IDs 0, 1, ... and
// creates opts.Topics.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if len(opts.Ports) == 0 {
		return nil, errors.New("start kafka cluster: no broker ports given (one per broker, e.g. 9092,9093,9094)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Cluster{ports: append([]int(nil), opts.Ports...), down: map[int]bool{}}
	kopts := []kfake.Opt{
		kfake.Ports(opts.Ports...),
		kfake.ClusterID(clusterID),
		kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(groupMinSessionTimeout),
		kfake.GroupMaxSessionTimeout(groupMaxSessionTimeout),
		kfake.WithLogger(slogLogger{log: opts.Logger.With("component", "kafka")}),
		// A stopped broker closes its open connections, as a real one
		// does (connlistener.go).
		kfake.ListenFn(listenClosingConns),
	}
	if opts.DataDir != "" {
		dir, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("start kafka cluster: data dir %s: %w", opts.DataDir, err)
		}
		if c.lock, err = dirlock.Acquire(dir, lockName); err != nil {
			return nil, fmt.Errorf("start kafka cluster: %w", err)
		}
		kopts = append(kopts, kfake.DataDir(dir))
	}
	kc, err := kfake.NewCluster(kopts...)
	if err != nil {
		_ = c.lock.Unlock()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("start kafka cluster: a port of %v is in use (%w); choose other ports", opts.Ports, err)
		}
		return nil, fmt.Errorf("start kafka cluster on ports %v: %w", opts.Ports, err)
	}
	c.cluster = kc
	if err := kafkabus.EnsureTopics(ctx, c.Brokers(), opts.Topics...); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("start kafka cluster: %w", err)
	}
	return c, nil
}

// Brokers are the addresses of all brokers, stopped ones included (they
// are the bootstrap list clients are configured with).
func (c *Cluster) Brokers() []string {
	out := make([]string, len(c.ports))
	for i, p := range c.ports {
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return out
}

// StopBroker takes broker id out of the cluster: it stops accepting
// connections, closes those open to it (as a real broker that stops does;
// kfake alone would keep answering them) and every partition gets a new
// leader among the remaining brokers.
func (c *Cluster) StopBroker(id int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 0 || id >= len(c.ports) {
		return fmt.Errorf("stop broker %d: there are brokers 0 to %d", id, len(c.ports)-1)
	}
	if c.down[id] {
		return fmt.Errorf("stop broker %d: it is already stopped", id)
	}
	if err := c.cluster.RemoveNode(int32(id)); err != nil {
		return fmt.Errorf("stop broker %d: %w", id, err)
	}
	c.down[id] = true
	return nil
}

// StartBroker brings a stopped broker back on its port; partition
// leadership is shuffled over all brokers again.
func (c *Cluster) StartBroker(id int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 0 || id >= len(c.ports) {
		return fmt.Errorf("start broker %d: there are brokers 0 to %d", id, len(c.ports)-1)
	}
	if !c.down[id] {
		return fmt.Errorf("start broker %d: it is running", id)
	}
	if _, _, err := c.cluster.AddNode(int32(id), c.ports[id]); err != nil {
		return fmt.Errorf("start broker %d on port %d: %w", id, c.ports[id], err)
	}
	delete(c.down, id)
	return nil
}

// ShuffleLeaders gives every partition a new, randomly chosen leader, as
// a leader election after a broker failure does.
func (c *Cluster) ShuffleLeaders() { c.cluster.ShufflePartitionLeaders() }

// Close stops all brokers; with a data dir it first writes their state
// to disk. Safe to call more than once.
func (c *Cluster) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cluster.Close()
		err = c.lock.Unlock()
	})
	if err != nil {
		return fmt.Errorf("close kafka cluster: release data dir: %w", err)
	}
	return nil
}
