package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/demo"
)

func runDemo(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "",
		"Runs the demo: a Trustly simulator, the sidecar in the SIM environment with the\n"+
			"embedded store, and a small shop page. Open the URL it prints, put something in\n"+
			"the cart, pay at the simulator's bank page, watch the order turn paid, refund it;\n"+
			"or make a pay link for the cart and pay through it.\n"+
			"Nothing is kept: every run starts empty. Ctrl-C stops it.")
	addr := fl.String("addr", demo.DefaultAddr, "`HOST:PORT` of the shop page (port 0 picks a free one)")
	presentation := fl.String("presentation", "iframe", "how the bank page is shown by default: iframe (a lightbox) or redirect")
	verbose := fl.Bool("verbose", false, "log the sidecar and the simulator at info level on stderr (default: warnings only)")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	if *presentation != "iframe" && *presentation != "redirect" {
		return cli.UsageError("%s: --presentation must be iframe or redirect", name)
	}
	// The demo runs this binary's own serve, in process.
	serve := func(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
		se := &cli.Env{Getenv: getenv, Now: e.Now, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr}
		return runServe(ctx, se, progName+" serve", nil)
	}
	err := demo.Run(ctx, demo.Options{Addr: *addr, Presentation: *presentation, Verbose: *verbose, Serve: serve}, e.Stdout, e.Stderr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
