package adapter

import (
	"context"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/internal/pb"
)

// ProtocolVersion is the newest plugin protocol this SDK speaks. The host
// offers every version it knows and go-plugin picks the newest one both
// sides share; a plugin and host with none in common are refused at start
// (ErrIncompatible), never half-working.
const ProtocolVersion = 1

// PluginName is the name the adapter is dispensed under in every plugin set.
const PluginName = "adapter"

// Handshake is shared by host and plugin. The magic cookie is a user
// experience feature, not security: it lets a plugin binary started by hand
// say "this is a plugin, run the sidecar instead" rather than hang waiting
// for a host. AutoMTLS (on in the host) is what protects the connection.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "TRUSTLY_SIDECAR_ADAPTER_PLUGIN",
	MagicCookieValue: "8f3c1e0b6a0d4f5e9b7a2c4d1e6f8a3b",
}

// PluginSets maps each protocol version to the plugins served under it.
// Protocol 2 goes next to 1 here, with its own plugin type, when the wire
// contract needs an incompatible change; hosts built against this SDK keep
// talking to old adapters through 1. A host passes nil for impl.
func PluginSets(impl Adapter) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// GRPCPlugin is the go-plugin glue for protocol version 1: in the plugin it
// serves Impl, in the host it hands out an Adapter that calls over gRPC.
// Adapter authors never touch it; Serve and the sidecar's host do.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Adapter
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the author's implementation with the plugin's server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterAdapterServer(s, &grpcServer{impl: p.Impl})
	return nil
}

// GRPCClient returns the host's Adapter over the plugin's connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &grpcClient{c: pb.NewAdapterClient(c)}, nil
}
