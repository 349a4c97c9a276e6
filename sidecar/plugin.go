package main

import (
	"context"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// runPlugin is "trustly-sidecar plugin <name>": the process serve re-executes
// to run a built-in adapter, so a crash in an adapter takes down only it.
func runPlugin(_ context.Context, e *cli.Env, name string, args []string) error {
	fs := cli.NewFlagSet(e, name, "<name>", "Serves the built-in platform adapter <name> ("+strings.Join(builtins.Names(), ", ")+
		") as a go-plugin process.\n'serve' starts it itself when "+config.Key("ADAPTER")+" names it; it is not run by hand.")
	pos, err := cli.ParseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if err := builtins.Serve(pos); err != nil {
		return cli.UsageError("%s: %w", name, err)
	}
	return nil
}
