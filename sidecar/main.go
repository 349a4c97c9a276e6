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

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

// commit is set at build time too (the Makefile does both), because builds
// with -buildvcs=false carry no VCS stamp of their own; "+dirty" at its end
// says the tree had changes the commit lacks.
var commit = ""

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
	names := func() []string { return setNames(os.Environ(), getenv) }
	return runEnv(ctx, &cli.Env{Getenv: getenv, Names: names, Now: time.Now, Stdin: stdin, Stdout: stdout, Stderr: stderr}, args)
}

// setNames are the names in environ that getenv also sees: the process's
// variables, as far as the caller's getenv agrees (a test's getenv reads
// its own map, and the process's variables are then none of its business).
func setNames(environ []string, getenv func(string) string) []string {
	var names []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if getenv(name) != "" {
			names = append(names, name)
		}
	}
	return names
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
	fs := cli.NewFlagSet(e, name, "", "Prints the version, the commit it was built from, the Go toolchain and the crypto it signs with.")
	if _, err := cli.ParseArgs(fs, args, 0); err != nil {
		return err
	}
	b := readBuild()
	// The crypto line tells a default build (Go's own) from `make build
	// CRYPTO=boring` (BoringCrypto): they differ in what a signature costs and
	// in what an operator may need to know for FIPS 140.
	_, err := fmt.Fprintf(e.Stdout, "%s %s (commit %s, %s %s/%s)\ncrypto: %s\n", progName, version, b.commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH, trustly.CryptoBackend())
	return err
}

// build is what the Go toolchain stamped into the binary about its source.
type build struct {
	revision string
	modified bool
}

func readBuild() build {
	return stampedBuild(commit)
}

// stampedBuild reads the -X main.commit stamp ("REV", or "REV+dirty" when the
// Makefile saw local changes), else what the toolchain stamped.
func stampedBuild(stamp string) build {
	if stamp != "" {
		rev, dirty := strings.CutSuffix(stamp, "+dirty")
		return build{revision: rev, modified: dirty}
	}
	var b build
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

// commit names the source revision, so any binary, released or built from
// a clone, can be traced back to it; "unknown" for a build outside git
// (go test, or -buildvcs=false).
func (b build) commit() string {
	if b.revision == "" {
		return "unknown"
	}
	rev := b.revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if b.modified {
		rev += "+dirty"
	}
	return rev
}
