package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

func runConfig(_ context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "",
		"Prints every setting of '"+progName+" serve': its environment variable, current value,\n"+
			"default and description. Secrets are shown only as set or not; each can also be\n"+
			"read from a file named by the variable with _FILE appended. Then it checks the\n"+
			"settings as 'serve' does at start and lists every problem.")
	check := fl.Bool("check", false, "only check: print the problems (or that there are none); exit status 1 when there are any")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	_, settings, err := config.Load(e.Getenv, e.VariableNames(), builtins.Names())
	if !*check {
		config.Print(e.Stdout, settings)
		fmt.Fprintln(e.Stdout)
	}
	var ce *config.Error
	switch {
	case err == nil:
		fmt.Fprintln(e.Stdout, "The configuration is valid.")
		return nil
	case errors.As(err, &ce):
		fmt.Fprintf(e.Stdout, "%v\n", err)
		if !*check {
			return nil
		}
		return &cli.ExitError{Code: cli.ExitFailure, Err: err, Reported: true}
	default:
		return fmt.Errorf("%s: %w", name, err)
	}
}
