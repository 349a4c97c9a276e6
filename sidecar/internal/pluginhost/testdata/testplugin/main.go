// Command testplugin is an adapter that misbehaves on request, for the
// host's tests. TESTPLUGIN_MODE picks how:
//
//	ok    answers at once
//	hang  ApplyStatus never returns and ignores its context
//	v99   speaks only plugin protocol version 99
//	deaf  ignores SIGTERM and serves through go-plugin directly, without
//	      the SDK's Serve (which exits when its host is gone): only the
//	      host can make it go, as an old or careless plugin would
//	goplugin serves through go-plugin directly, as an adapter of an SDK
//	      older than adapter.EnvTLS does: go-plugin makes its certificate
//
// TESTPLUGIN_IGNORE_TERM=1 makes any mode ignore SIGTERM, like the plugin
// that outlived its sidecar for minutes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

type testAdapter struct{ hang bool }

func (t testAdapter) Describe(context.Context) (adapter.Description, error) {
	hclog.Default().Info("described myself", "mode", os.Getenv("TESTPLUGIN_MODE"))
	return adapter.Description{Name: "testplugin", Version: "0.0.1", Flows: []adapter.Flow{adapter.FlowPayment}, Async: true}, nil
}

func (t testAdapter) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	return []adapter.Command{{Kind: adapter.CommandPay, IdempotencyKey: "test:" + string(req.Body)}}, nil
}

func (t testAdapter) Answer(context.Context, adapter.Request, []adapter.Result) (adapter.Response, error) {
	return adapter.Response{}, adapter.ErrUnsupported
}

func (t testAdapter) ApplyStatus(context.Context, adapter.StatusChange) error {
	if t.hang {
		select {} // a plugin stuck for good, deaf to cancellation
	}
	return nil
}

func main() {
	if os.Getenv("TESTPLUGIN_IGNORE_TERM") == "1" || os.Getenv("TESTPLUGIN_MODE") == "deaf" {
		signal.Ignore(syscall.SIGTERM)
	}
	switch os.Getenv("TESTPLUGIN_MODE") {
	case "deaf", "goplugin":
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  adapter.Handshake,
			VersionedPlugins: adapter.PluginSets(testAdapter{}),
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	case "v99":
		// A plugin from a future SDK: right handshake, unknown protocol.
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  adapter.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{99: adapter.PluginSets(testAdapter{})[1]},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	case "hang":
		adapter.Serve(testAdapter{hang: true})
	default:
		adapter.Serve(testAdapter{})
	}
}
