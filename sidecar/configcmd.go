package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

func runConfig(_ context.Context, e *env, name string, args []string) error {
	fl := newFlagSet(e, name, "",
		"Prints every setting of '"+progName+" serve': its environment variable, current value,\n"+
			"default and description. Secrets are shown only as set or not; each can also be\n"+
			"read from a file named by the variable with _FILE appended. Then it checks the\n"+
			"settings as 'serve' does at start and lists every problem.")
	check := fl.Bool("check", false, "only check: print the problems (or that there are none); exit status 1 when there are any")
	if _, err := parseArgs(fl, args, 0); err != nil {
		return err
	}
	_, settings, err := config.Load(e.getenv, builtins.Names())
	if !*check {
		config.Print(e.stdout, settings)
		fmt.Fprintln(e.stdout)
	}
	var ce *config.Error
	switch {
	case err == nil:
		fmt.Fprintln(e.stdout, "The configuration is valid.")
		return nil
	case errors.As(err, &ce):
		fmt.Fprintf(e.stdout, "%v\n", err)
		if !*check {
			return nil
		}
		return &exitError{code: exitFailure, err: err, reported: true}
	default:
		return fmt.Errorf("%s: %w", name, err)
	}
}
