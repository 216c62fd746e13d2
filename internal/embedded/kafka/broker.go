package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/amtsweg/amtsweg/internal/embedded/internal/dirlock"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// DefaultAddr is the address `amtsweg dev` serves Kafka on.
const DefaultAddr = "127.0.0.1:9092"

const (
	// Session timeout bounds for consumer groups, as Apache Kafka's
	// defaults (group.min/max.session.timeout.ms): kafka-go readers use
	// 30s, anything from 6s works.
	groupMinSessionTimeout = 6 * time.Second
	groupMaxSessionTimeout = 30 * time.Minute

	lockName  = "amtsweg.lock"
	clusterID = "amtsweg-embedded"
)

// Options configure an embedded broker. The zero value is an in-memory
// broker on 127.0.0.1:9092.
type Options struct {
	// DataDir keeps topics, messages and committed offsets across
	// restarts. Empty means in memory.
	DataDir string
	// Addr is the host:port to listen on and to advertise to clients.
	// Default DefaultAddr; port 0 picks a free port. Use an address
	// clients can reach (not 0.0.0.0): it is what metadata tells them.
	Addr string
	// Topics are created at start unless they exist.
	Topics []kafkabus.TopicSpec
	// Logger receives the broker's warnings and errors (its request-level
	// chatter goes to Debug). Default slog.Default().
	Logger *slog.Logger
}

// Broker is a running embedded Kafka broker.
type Broker struct {
	cluster   *kfake.Cluster
	brokers   []string
	lock      *dirlock.Lock
	closeOnce sync.Once
}

// Start starts a single-node broker and creates Options.Topics. Stop it
// with Close.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return nil, fmt.Errorf("start kafka: address %q is not host:port (e.g. %s): %w", opts.Addr, DefaultAddr, err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	b := &Broker{}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID(clusterID),
		kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(groupMinSessionTimeout),
		kfake.GroupMaxSessionTimeout(groupMaxSessionTimeout),
		kfake.WithLogger(slogLogger{log: opts.Logger.With("component", "kafka")}),
		// kfake binds 127.0.0.1:<port>; listen where we were asked to.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, opts.Addr)
		}),
	}
	if opts.DataDir != "" {
		dir, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("start kafka: data dir %s: %w", opts.DataDir, err)
		}
		if b.lock, err = dirlock.Acquire(dir, lockName); err != nil {
			return nil, fmt.Errorf("start kafka: %w", err)
		}
		kopts = append(kopts, kfake.DataDir(dir))
	}

	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		_ = b.lock.Unlock()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("start kafka: %s is in use (%w); is another Kafka running? stop it or choose another address", opts.Addr, err)
		}
		return nil, fmt.Errorf("start kafka on %s: %w", opts.Addr, err)
	}
	b.cluster = cluster
	b.brokers = cluster.ListenAddrs()

	if err := kafkabus.EnsureTopics(ctx, b.brokers, opts.Topics...); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	return b, nil
}

// Brokers are the bootstrap addresses for clients, e.g. ["127.0.0.1:9092"].
func (b *Broker) Brokers() []string { return append([]string(nil), b.brokers...) }

// Close stops the broker; with a data dir it first writes its state
// (including committed offsets) to disk. Safe to call more than once.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.cluster.Close()
		err = b.lock.Unlock()
	})
	if err != nil {
		return fmt.Errorf("close kafka: release data dir: %w", err)
	}
	return nil
}

// slogLogger adapts slog to kfake's Logger. kfake logs every request at
// Info, which is Debug for us.
type slogLogger struct {
	log *slog.Logger
}

func (l slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var sl slog.Level
	switch level {
	case kfake.LogLevelError:
		sl = slog.LevelError
	case kfake.LogLevelWarn:
		sl = slog.LevelWarn
	default:
		sl = slog.LevelDebug
	}
	ctx := context.Background()
	if !l.log.Enabled(ctx, sl) {
		return
	}
	l.log.Log(ctx, sl, fmt.Sprintf(format, args...))
}
