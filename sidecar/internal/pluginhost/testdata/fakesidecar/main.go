// Command fakesidecar stands in for the trustly-sidecar binary in tests: it
// has the "plugin <name>" command, dispatched the way the sidecar's command
// table will, so tests exercise the built-in re-exec path; and
//
//	fakesidecar host pluginhost|bare <plugin path> [args...]
//
// which plays a serving sidecar for tests that kill it: it starts the plugin
// (through pluginhost.Host as serve does, or "bare" through go-plugin alone,
// as a host without pluginhost's care would), prints "plugin pid <pid>" once
// it is up, and runs until killed. The plugin gets TESTPLUGIN_* variables
// of this process's environment.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// builtins are what the real binary registers: the generic adapter.
var builtins = pluginhost.Builtins{
	generic.Name: func(getenv func(string) string) (adapter.Adapter, error) { return generic.NewFromEnv(getenv) },
}

func main() {
	if len(os.Args) >= 4 && os.Args[1] == "host" {
		if err := host(os.Args[2], os.Args[3], os.Args[4:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || os.Args[1] != pluginhost.BuiltinCommand {
		fmt.Fprintln(os.Stderr, "usage: fakesidecar plugin <name> | fakesidecar host pluginhost|bare <plugin> [args...]")
		os.Exit(2)
	}
	if err := builtins.Serve(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// host starts the plugin at path, prints its pid and blocks until killed.
func host(how, path string, args []string) error {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TESTPLUGIN_") {
			env = append(env, kv)
		}
	}
	switch how {
	case "pluginhost":
		src := pluginhost.Source{Name: "testplugin", Path: path, Args: args, Env: env}
		h := pluginhost.New(src, pluginhost.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		go func() { _ = h.Run(context.Background()) }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.WaitReady(ctx); err != nil {
			return err
		}
		fmt.Printf("plugin pid %d\n", h.Pid())
	case "bare":
		cmd := exec.Command(path, args...)
		cmd.Env = env
		client := plugin.NewClient(&plugin.ClientConfig{
			HandshakeConfig: adapter.Handshake, VersionedPlugins: adapter.PluginSets(nil),
			AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, Cmd: cmd,
		})
		if _, err := client.Client(); err != nil {
			return err
		}
		fmt.Printf("plugin pid %d\n", client.ReattachConfig().Pid)
	default:
		return fmt.Errorf("host %q: want pluginhost or bare", how)
	}
	select {} // until killed
}
