// Command fakesidecar stands in for the trustly-sidecar binary in tests: it
// has only the "plugin <name>" command, dispatched the way the sidecar's
// command table will, so tests exercise the built-in re-exec path.
package main

import (
	"fmt"
	"os"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// builtins are what the real binary registers: the generic adapter.
var builtins = pluginhost.Builtins{
	generic.Name: func(getenv func(string) string) (adapter.Adapter, error) { return generic.NewFromEnv(getenv) },
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != pluginhost.BuiltinCommand {
		fmt.Fprintln(os.Stderr, "usage: fakesidecar plugin <name>")
		os.Exit(2)
	}
	if err := builtins.Serve(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
