package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/amtsweg/amtsweg/plugins/proto/amtsweg/plugin/v1"
)

// MaxMessageSize bounds one gRPC message between host and plugin (16 MiB).
// Documents travel through the e-file, not through activity inputs, so this
// is generous; Temporal's own payload limit (2 MiB by default) is lower.
const MaxMessageSize = 16 << 20

// GRPCPlugin is the go-plugin glue: on the plugin side it serves Impl over
// gRPC, on the host side it dispenses a Plugin that calls the process.
type GRPCPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	// Impl is the implementation served (plugin side only).
	Impl Plugin
}

var _ goplugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the plugin service on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return fmt.Errorf("amtsweg plugin: no implementation to serve")
	}
	pluginv1.RegisterPluginServer(s, &grpcServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Plugin that calls the plugin process over conn.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewGRPCClient(conn), nil
}

// NewGRPCClient returns a Plugin that calls a plugin served on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) Plugin {
	return &grpcClient{rpc: pluginv1.NewPluginClient(conn)}
}

// grpcClient is the host-side shim.
type grpcClient struct {
	rpc pluginv1.PluginClient
}

func (c *grpcClient) Describe(ctx context.Context) (Manifest, error) {
	resp, err := c.rpc.Describe(ctx, &pluginv1.DescribeRequest{}, grpc.MaxCallRecvMsgSize(MaxMessageSize))
	if err != nil {
		return Manifest{}, fmt.Errorf("describe: %w", err)
	}
	m := Manifest{Name: resp.GetName(), Version: resp.GetVersion()}
	for _, a := range resp.GetActivities() {
		m.Activities = append(m.Activities, ActivitySpec{
			Plugin:        resp.GetName(),
			Name:          a.GetName(),
			Description:   a.GetDescription(),
			PluginVersion: resp.GetVersion(),
			Input:         schemaOrTrue(a.GetInputSchema()),
			Output:        schemaOrTrue(a.GetOutputSchema()),
		})
	}
	return m, nil
}

func schemaOrTrue(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage(`true`)
	}
	return json.RawMessage(s)
}

func (c *grpcClient) Execute(ctx context.Context, call Call) (json.RawMessage, error) {
	local := call.Activity
	if _, a, ok := SplitFullName(call.Activity); ok {
		local = a
	}
	resp, err := c.rpc.Execute(ctx, &pluginv1.ExecuteRequest{
		Activity: local,
		Input:    call.Input,
		Metadata: &pluginv1.CallMetadata{
			Reference:      call.Reference,
			Tenant:         call.Tenant,
			Step:           call.Step,
			Attempt:        call.Attempt,
			IdempotencyKey: call.IdempotencyKey,
		},
	}, grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize))
	if err != nil {
		return nil, fmt.Errorf("execute %s: %w", call.Activity, err)
	}
	switch r := resp.GetResult().(type) {
	case *pluginv1.ExecuteResponse_Output:
		if !json.Valid(r.Output) {
			return nil, &Error{Message: fmt.Sprintf("%s returned output that is not valid JSON", call.Activity)}
		}
		return json.RawMessage(r.Output), nil
	case *pluginv1.ExecuteResponse_Error:
		return nil, &Error{Retryable: r.Error.GetRetryable(), Message: r.Error.GetMessage()}
	default:
		return nil, &Error{Message: fmt.Sprintf("%s returned neither output nor error (protocol violation by the plugin)", call.Activity)}
	}
}

// grpcServer is the plugin-side shim.
type grpcServer struct {
	pluginv1.UnimplementedPluginServer
	impl Plugin

	once sync.Once
	name string
	err  error
}

func (s *grpcServer) pluginName(ctx context.Context) (string, error) {
	s.once.Do(func() {
		m, err := s.impl.Describe(ctx)
		s.name, s.err = m.Name, err
	})
	return s.name, s.err
}

func (s *grpcServer) Describe(ctx context.Context, _ *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	m, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, err
	}
	resp := &pluginv1.DescribeResponse{Name: m.Name, Version: m.Version}
	for _, a := range m.Activities {
		resp.Activities = append(resp.Activities, &pluginv1.Activity{
			Name:         a.Name,
			Description:  a.Description,
			InputSchema:  string(a.Input),
			OutputSchema: string(a.Output),
		})
	}
	return resp, nil
}

func (s *grpcServer) Execute(ctx context.Context, req *pluginv1.ExecuteRequest) (*pluginv1.ExecuteResponse, error) {
	name, err := s.pluginName(ctx)
	if err != nil {
		return nil, err
	}
	md := req.GetMetadata()
	out, err := s.impl.Execute(ctx, Call{
		Activity:       name + "." + req.GetActivity(),
		Reference:      md.GetReference(),
		Tenant:         md.GetTenant(),
		Step:           md.GetStep(),
		IdempotencyKey: md.GetIdempotencyKey(),
		Attempt:        md.GetAttempt(),
		Input:          json.RawMessage(req.GetInput()),
	})
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			// An implementation that does not classify its error: retry,
			// as Temporal does with unclassified activity errors.
			pe = &Error{Retryable: true, Message: err.Error()}
		}
		return &pluginv1.ExecuteResponse{Result: &pluginv1.ExecuteResponse_Error{
			Error: &pluginv1.Error{Retryable: pe.Retryable, Message: pe.Message},
		}}, nil
	}
	return &pluginv1.ExecuteResponse{Result: &pluginv1.ExecuteResponse_Output{Output: out}}, nil
}
