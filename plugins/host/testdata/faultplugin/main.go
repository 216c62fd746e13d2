// Command faultplugin is a plugin for the host's fault tests. Its name is
// the executable's file name (or the bundled name in "plugin serve NAME"),
// so one binary copied under several names gives several plugins.
// FAULT_PLUGIN_PROTOCOL=N makes it offer protocol version N in the
// handshake instead of the SDK's.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk"
)

type echoIn struct {
	Value string `json:"value"`
}

type echoOut struct {
	Value string `json:"value"`
	PID   int    `json:"pid"`
}

type sleepIn struct {
	Millis int    `json:"millis"`
	Marker string `json:"marker,omitempty" jsonschema:"description=file created when the call has started"`
}

type sleepOut struct {
	Slept bool `json:"slept"`
}

type failIn struct {
	Retryable bool   `json:"retryable"`
	Message   string `json:"message"`
}

type envIn struct {
	Key string `json:"key"`
}

type envOut struct {
	Value string `json:"value"`
}

type empty struct{}

func name() string {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		return os.Args[3]
	}
	n := filepath.Base(os.Args[0])
	return strings.TrimSuffix(n, filepath.Ext(n))
}

func main() {
	p := sdk.Plugin{
		Name:    name(),
		Version: "0.1.0",
		Activities: []sdk.Activity{
			sdk.Typed("echo", "Echoes the value with the process id", func(_ context.Context, _ sdk.CallInfo, in echoIn) (echoOut, error) {
				return echoOut{Value: in.Value, PID: os.Getpid()}, nil
			}),
			sdk.Typed("sleep", "Sleeps, honouring cancellation", func(ctx context.Context, _ sdk.CallInfo, in sleepIn) (sleepOut, error) {
				if in.Marker != "" {
					if err := os.WriteFile(in.Marker, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
						return sleepOut{}, err
					}
				}
				select {
				case <-time.After(time.Duration(in.Millis) * time.Millisecond):
					return sleepOut{Slept: true}, nil
				case <-ctx.Done():
					return sleepOut{}, ctx.Err()
				}
			}),
			sdk.Typed("hang", "Blocks for an hour, ignoring cancellation", func(context.Context, sdk.CallInfo, empty) (empty, error) {
				time.Sleep(time.Hour)
				return empty{}, nil
			}),
			sdk.Typed("fail", "Fails as told", func(_ context.Context, _ sdk.CallInfo, in failIn) (empty, error) {
				if in.Retryable {
					return empty{}, sdk.Retryable(errors.New(in.Message))
				}
				return empty{}, sdk.Final(errors.New(in.Message))
			}),
			sdk.Typed("env", "Returns an environment variable", func(_ context.Context, _ sdk.CallInfo, in envIn) (envOut, error) {
				return envOut{Value: os.Getenv(in.Key)}, nil
			}),
			sdk.Typed("exit", "Exits the process in the middle of the call", func(context.Context, sdk.CallInfo, empty) (empty, error) {
				os.Exit(3)
				return empty{}, nil
			}),
			{
				Name: "bad-output", Description: "Returns output that breaks its schema",
				Output: json.RawMessage(`{"type":"object","required":["n"]}`),
				Handler: func(context.Context, sdk.CallInfo, json.RawMessage) (json.RawMessage, error) {
					return json.RawMessage(`{"m":1}`), nil
				},
			},
		},
	}
	if v := os.Getenv("FAULT_PLUGIN_PROTOCOL"); v != "" {
		n, _ := strconv.Atoi(v)
		hs := plugins.Handshake
		hs.ProtocolVersion = uint(n)
		impl, err := sdk.InProcess(p)
		if err != nil {
			panic(err)
		}
		goplugin.Serve(&goplugin.ServeConfig{HandshakeConfig: hs, Plugins: plugins.PluginSet(impl), GRPCServer: goplugin.DefaultGRPCServer})
		return
	}
	sdk.Serve(p)
}
