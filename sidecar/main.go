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
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

const progName = "trustly-sidecar"

// Exit statuses. Scripts branch on them, so they are part of the interface
// and listed in the help text.
const (
	exitOK      = 0
	exitFailure = 1 // the work failed: a signature did not verify, a file could not be read, ...
	exitUsage   = 2 // the command line was wrong
)

func main() {
	// Cancelled on Ctrl-C or SIGTERM so long-running commands can stop cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

// env is what a command may touch of the outside world. Passing it in,
// rather than using os directly, lets tests run every command in-process.
type env struct {
	getenv func(string) string
	now    func() time.Time // the clock of serve's engine, pay links and webhooks
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes one command line. Errors that were not already shown to the
// user are printed to stderr here, so every command reports the same way.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runEnv(ctx, &env{getenv: getenv, now: time.Now, stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// runEnv is run in e: tests give it their own clock.
func runEnv(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		args = args[1:] // the program path
	}
	err := dispatch(ctx, e, progName, rootCommands, args)
	var xe *exitError
	if err != nil && !(errors.As(err, &xe) && xe.reported) {
		// Commands name themselves ("trustly-sidecar signature sign: ...");
		// anything else still says which program is talking.
		msg := err.Error()
		if !strings.HasPrefix(msg, progName) {
			msg = progName + ": " + msg
		}
		fmt.Fprintln(e.stderr, msg)
	}
	return err
}

// exitError carries the exit status of a failure. reported means the user
// has already been told (flag usage, "invalid: ..."), so run stays quiet.
type exitError struct {
	code     int
	err      error
	reported bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake on the command line: exit status 2.
func usageError(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// exitCode maps run's result to the process exit status. Errors without an
// explicit status are failures.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.code
	}
	return exitFailure
}

func runVersion(_ context.Context, e *env, name string, args []string) error {
	fs := newFlagSet(e, name, "", "Prints the version and the Go toolchain it was built with.")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	_, err := fmt.Fprintf(e.stdout, "%s %s (%s %s/%s)\n", progName, versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
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
