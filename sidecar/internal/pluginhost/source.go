package pluginhost

import (
	"fmt"
	"os"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Source is where an adapter's process comes from.
type Source struct {
	// Name is the adapter's configured name: logs, errors and readiness
	// are reported under it.
	Name string
	// Path and Args start the plugin process.
	Path string
	Args []string
	// Env is the plugin's configuration (KEY=VALUE). The plugin does not
	// inherit the sidecar's environment, which holds the sidecar's own
	// secrets; only these and a few neutral variables (PATH, HOME, TMPDIR,
	// TZ, LANG) are passed.
	Env []string
	// Reattach, when set, connects to an adapter already running under a
	// debugger (see adapter.WithDebug) instead of starting one. The host
	// never kills that process.
	Reattach *plugin.ReattachConfig
}

// BuiltinCommand is the sidecar's command that serves a built-in adapter:
// "trustly-sidecar plugin <name>" (see Builtins.Serve).
const BuiltinCommand = "plugin"

// Builtin is a platform adapter that ships inside the sidecar binary (one
// of its Builtins, which the caller has checked): the sidecar re-executes
// itself as "<itself> plugin <name>", so a crash in an adapter still takes
// down only the adapter.
func Builtin(name string, env ...string) (Source, error) {
	exe, err := os.Executable()
	if err != nil {
		return Source{}, fmt.Errorf("built-in adapter %s: find own executable: %w", name, err)
	}
	return Source{Name: name, Path: exe, Args: []string{BuiltinCommand, name}, Env: env}, nil
}

// External is a third-party adapter: an executable given by path.
func External(name, path string, env ...string) Source {
	return Source{Name: name, Path: path, Env: env}
}

// Reattached is an adapter running under a debugger, from the value of
// adapter.EnvReattach the adapter printed.
func Reattached(name, envValue string) (Source, error) {
	rcs, err := adapter.ParseReattach(envValue)
	if err != nil {
		return Source{}, err
	}
	rc, ok := rcs[name]
	if !ok {
		return Source{}, fmt.Errorf("%s has no entry for adapter %q", adapter.EnvReattach, name)
	}
	return Source{Name: name, Reattach: rc}, nil
}

// passedEnv is the part of the sidecar's environment a plugin gets.
var passedEnv = []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG"}

func (s Source) env() []string {
	var env []string
	for _, k := range passedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, s.Env...)
}
