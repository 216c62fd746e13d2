package sdk

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/amtsweg/amtsweg/plugins"
)

// Serve runs p as a plugin process: it checks the plugin, performs the
// go-plugin handshake with the host and serves calls until the host stops
// it. It does not return. A plugin that fails the check exits with status 1
// and the reason on stderr, which the host logs and shows as failed.
func Serve(p Plugin) {
	// go-plugin replaces os.Stderr once serving; logs must go to the
	// original stderr, which the host reads and logs with the plugin's name.
	stderr := os.Stderr
	if p.Logger == nil {
		p.Logger = NewLogger(stderr, slog.LevelInfo)
	}
	inst, err := newInstance(p)
	if err != nil {
		fmt.Fprintf(stderr, "amtsweg plugin %s: %v\n", p.Name, err)
		os.Exit(1)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { exitWithParent(p.Logger, stop) })
	goplugin.Serve(serveConfig(inst, stderr))
	close(stop)
	wg.Wait()
}

// exitWithParent ends the plugin when the host process is gone (the
// plugin was re-parented), so that a host killed without a chance to stop
// its plugins leaves no orphans behind. It returns when stop is closed.
func exitWithParent(log *slog.Logger, stop <-chan struct{}) {
	parent := os.Getppid()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if os.Getppid() != parent {
				log.Warn("host process is gone; plugin exits")
				os.Exit(0)
			}
		}
	}
}

func serveConfig(impl plugins.Plugin, stderr io.Writer) *goplugin.ServeConfig {
	return &goplugin.ServeConfig{
		HandshakeConfig: plugins.Handshake,
		Plugins:         plugins.PluginSet(impl),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(plugins.MaxMessageSize), grpc.MaxSendMsgSize(plugins.MaxMessageSize))
			return grpc.NewServer(opts...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: stderr, JSONFormat: true}),
	}
}

// NewLogger returns a slog logger that writes hclog's JSON line format,
// which the host parses to log each line with its level and the plugin's
// name.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				lvl := a.Value.Any().(slog.Level)
				s := "trace"
				switch {
				case lvl >= slog.LevelError:
					s = "error"
				case lvl >= slog.LevelWarn:
					s = "warn"
				case lvl >= slog.LevelInfo:
					s = "info"
				case lvl >= slog.LevelDebug:
					s = "debug"
				}
				return slog.String("@level", s)
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}
