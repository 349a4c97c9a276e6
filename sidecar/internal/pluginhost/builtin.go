package pluginhost

import (
	"fmt"
	"os"
	"sort"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
)

// builtins are the adapters compiled into the sidecar, by name. Each reads
// its configuration from the environment the host gave its process.
var builtins = map[string]func(getenv func(string) string) (adapter.Adapter, error){
	generic.Name: func(getenv func(string) string) (adapter.Adapter, error) { return generic.NewFromEnv(getenv) },
}

// BuiltinNames lists the built-in adapters.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ServeBuiltin is the body of "trustly-sidecar plugin <name>": it serves the
// built-in adapter name as a plugin and does not return unless it cannot
// start. The sidecar's command table calls it with the arguments after
// "plugin".
func ServeBuiltin(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: plugin <name> (one of %v); the sidecar starts this itself", BuiltinNames())
	}
	newAdapter, ok := builtins[args[0]]
	if !ok {
		return fmt.Errorf("no built-in adapter %q (built in: %v)", args[0], BuiltinNames())
	}
	a, err := newAdapter(os.Getenv)
	if err != nil {
		return err
	}
	adapter.Serve(a)
	return nil
}
