// Command trustly-sidecar runs next to a shop and speaks Trustly's EU
// JSON-RPC 1.1 payment API for it. This file wires the process to run, which
// holds everything testable.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

const progName = "trustly-sidecar"

func main() {
	// Cancelled on Ctrl-C or SIGTERM so long-running commands can stop cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err))
}

// run executes one command line. Errors that were not already shown to the
// user are printed to stderr here, so every command reports the same way.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runEnv(ctx, &cli.Env{Getenv: getenv, Now: time.Now, Stdin: stdin, Stdout: stdout, Stderr: stderr}, args)
}

// runEnv is run in e: tests give it their own clock. Every command gets e
// (package cli), never the process's os.Stdout and friends.
func runEnv(ctx context.Context, e *cli.Env, args []string) error {
	if len(args) > 0 {
		args = args[1:] // the program path
	}
	err := cli.Dispatch(ctx, e, progName, rootCommands, args)
	var xe *cli.ExitError
	if err != nil && !(errors.As(err, &xe) && xe.Reported) {
		// Commands name themselves ("trustly-sidecar signature sign: ...");
		// anything else still says which program is talking.
		msg := err.Error()
		if !strings.HasPrefix(msg, progName) {
			msg = progName + ": " + msg
		}
		fmt.Fprintln(e.Stderr, msg)
	}
	return err
}

func runVersion(_ context.Context, e *cli.Env, name string, args []string) error {
	fs := cli.NewFlagSet(e, name, "", "Prints the version and the Go toolchain it was built with.")
	if _, err := cli.ParseArgs(fs, args, 0); err != nil {
		return err
	}
	_, err := fmt.Fprintf(e.Stdout, "%s %s (%s %s/%s)\n", progName, versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// versionString adds the VCS revision to development builds, so a binary
// built without -ldflags can still be traced to a commit.
func versionString() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return version + "-" + rev
}
