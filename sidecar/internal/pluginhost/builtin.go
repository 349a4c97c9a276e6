package pluginhost

import (
	"fmt"
	"os"
	"sort"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Builtins are the adapters compiled into a binary, by name: the binary
// that assembles the sidecar lists them (this package imports no platform).
// Each reads its configuration from the environment the host gave its
// process.
type Builtins map[string]func(getenv func(string) string) (adapter.Adapter, error)

// Names lists the built-in adapters, sorted.
func (b Builtins) Names() []string {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Serve is the body of "<binary> plugin <name>": it serves the built-in
// adapter name as a plugin and does not return unless it cannot start. The
// binary's command table calls it with the arguments after "plugin".
func (b Builtins) Serve(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: plugin <name> (one of %v); the sidecar starts this itself", b.Names())
	}
	newAdapter, ok := b[args[0]]
	if !ok {
		return fmt.Errorf("no built-in adapter %q (built in: %v)", args[0], b.Names())
	}
	a, err := newAdapter(os.Getenv)
	if err != nil {
		return err
	}
	adapter.Serve(a)
	return nil
}
