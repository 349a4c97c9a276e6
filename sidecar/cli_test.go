package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/opscmd"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const testVersion = "1.2.3-test"

var (
	// binPath is the real binary, built once with -ldflags; "" when the go
	// tool cannot be found, in which case the subprocess tests skip.
	binPath string
	// genericBin is the generic platform adapter as a plugin executable.
	genericBin string
	// keyDir holds one merchant key pair made by keygen, shared because
	// generating RSA keys is the slowest thing these tests do.
	keyDir string
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(floorEnv); spec != "" {
		fmt.Fprintln(os.Stderr, "floor server:", serveFloor(spec))
		os.Exit(1)
	}
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "trustly-sidecar-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	if gobin := goTool(); gobin != "" {
		bin := filepath.Join(dir, "trustly-sidecar")
		// Built as `make build` builds what ships (static, no cgo, no
		// symbol table): the tests and the bench run that binary.
		cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion, "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		binPath = bin
		genericBin = filepath.Join(dir, "trustly-adapter-generic")
		cmd = exec.Command(gobin, "build", "-o", genericBin, "../platforms/generic/cmd/trustly-adapter-generic")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
	}

	keyDir = filepath.Join(dir, "keys")
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"trustly-sidecar", "keygen", "--out-dir", keyDir}, noEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keygen: %v\n%s", err, stderr.String())
		return 1
	}
	return m.Run()
}

func goTool() string {
	p, _ := exec.LookPath("go")
	return p
}

func noEnv(string) string { return "" }

// result is what one command line produced.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs one command line in-process, the way main would.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"trustly-sidecar"}, args...), noEnv, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cli.ExitCode(err)}
}

// exe runs the real binary.
func exe(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	if binPath == "" {
		t.Skip("go tool not found, binary not built")
	}
	cmd := exec.CommandContext(t.Context(), binPath, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", binPath, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func testdata(name string) string { return filepath.Join("testdata", name) }

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expect checks the exit status and that each output holds the given
// fragments; an empty want for stdout means stdout must be empty.
type expect struct {
	code       int
	stdout     []string
	stderr     []string
	stdoutNone bool // stdout must be empty
}

func (x expect) check(t *testing.T, r result) {
	t.Helper()
	if r.code != x.code {
		t.Errorf("exit status %d, want %d\n%v", r.code, x.code, r)
	}
	for _, s := range x.stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q\n%v", s, r)
		}
	}
	for _, s := range x.stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q\n%v", s, r)
		}
	}
	if x.stdoutNone && r.stdout != "" {
		t.Errorf("stdout should be empty\n%v", r)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want expect
	}{
		{"no command shows usage and fails", nil,
			expect{code: 2, stderr: []string{"Usage: trustly-sidecar <command>", "signature", "keygen"}, stdoutNone: true}},
		{"help lists every command on stdout", []string{"help"},
			expect{code: 0, stdout: []string{"version", "signature", "keygen", "Exit status"}}},
		{"-h is help", []string{"-h"}, expect{code: 0, stdout: []string{"Usage: trustly-sidecar <command>"}}},
		{"--help is help", []string{"--help"}, expect{code: 0, stdout: []string{"Usage: trustly-sidecar <command>"}}},
		{"unknown command", []string{"frobnicate"},
			expect{code: 2, stderr: []string{`unknown command "frobnicate"`, "Usage:"}, stdoutNone: true}},
		{"version", []string{"version"},
			expect{code: 0, stdout: []string{"trustly-sidecar dev", runtime.Version()}}},
		{"--version is version", []string{"--version"},
			expect{code: 0, stdout: []string{"trustly-sidecar dev (commit ", runtime.Version()}}},
		{"version takes no arguments", []string{"version", "extra"},
			expect{code: 2, stderr: []string{`unexpected argument "extra"`}}},
		{"signature without a subcommand", []string{"signature"},
			expect{code: 2, stderr: []string{"Usage: trustly-sidecar signature <command>", "plaintext", "sign", "verify"}}},
		{"unknown signature subcommand", []string{"signature", "forge"},
			expect{code: 2, stderr: []string{`unknown command "forge"`}}},
		{"signature help explains where signatures live", []string{"signature", "help"},
			expect{code: 0, stdout: []string{"params.Signature", "params.signature", "result.signature", "error.error.signature"}}},
		{"help for a subcommand shows its flags", []string{"help", "signature", "verify"},
			expect{code: 0, stderr: []string{"Usage: trustly-sidecar signature verify", "--public-key", "--env"}}},
		{"sign without a private key", []string{"signature", "sign", testdata("request.json")},
			expect{code: 2, stderr: []string{"--private-key is required"}, stdoutNone: true}},
		{"verify without a public key", []string{"signature", "verify", testdata("request.json")},
			expect{code: 2, stderr: []string{"--public-key is required"}, stdoutNone: true}},
		{"unknown flag", []string{"signature", "plaintext", "--frob", testdata("request.json")},
			expect{code: 2, stderr: []string{"flag provided but not defined: -frob", "Usage: trustly-sidecar signature plaintext"}}},
		{"two input files", []string{"signature", "plaintext", testdata("request.json"), testdata("reply.json")},
			expect{code: 2, stderr: []string{"unexpected argument"}, stdoutNone: true}},
		{"unknown environment", []string{"signature", "verify", "--public-key", "test", "--env", "staging", testdata("reply.json")},
			expect{code: 2, stderr: []string{`unknown environment "staging"`}}},
		{"environment contradicting a named key", []string{"signature", "verify", "--public-key", "live", "--env", "test", testdata("reply.json")},
			expect{code: 2, stderr: []string{"--env test contradicts --public-key live"}}},
		{"environment contradicting Trustly's key file", []string{"signature", "verify", "--public-key", testdata("trustly-live-public.pem"), "--env", "test", testdata("reply.json")},
			expect{code: 2, stderr: []string{"is Trustly's LIVE key"}}},
		{"keygen with a key size Trustly does not use", []string{"keygen", "--bits", "1024", "--out-dir", "never-created"},
			expect{code: 2, stderr: []string{"--bits 1024"}}},
		{"flags after the file are still read", []string{"signature", "verify", testdata("trustly-test-credit-notification.json"), "--public-key", "test"},
			expect{code: 0, stdout: []string{"valid"}}},
		{"-- ends the flags", []string{"signature", "plaintext", "--", testdata("reply.json")},
			expect{code: 0, stdout: []string{"creditf1b77aac-516d-4b89-a125-c005f4c020f0statusOK\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.check(t, runCLI(t, "", tt.args...))
		})
	}
	if _, err := os.Stat("never-created"); err == nil {
		t.Error("keygen with bad flags created its output directory")
	}
}

// Every command in the tables answers -h, so a command added later is
// covered by this test without touching it.
func TestEveryCommandHasHelp(t *testing.T) {
	help := runCLI(t, "", "help").stdout
	for _, c := range rootCommands.Commands {
		if !strings.Contains(help, "\n  "+c.Name+" ") && !strings.Contains(help, "\n  "+c.Name+"\n") {
			t.Errorf("help does not list %q", c.Name)
		}
		t.Run(c.Name, func(t *testing.T) {
			expect{code: 0}.check(t, runCLI(t, "", c.Name, "-h"))
		})
	}
	for _, c := range signatureCommands.Commands {
		t.Run("signature "+c.Name, func(t *testing.T) {
			expect{code: 0, stderr: []string{"Usage: trustly-sidecar signature " + c.Name}}.check(t, runCLI(t, "", "signature", c.Name, "-h"))
		})
	}
}

// Every spelling of help, alone, repeated or mixed, at every level of the
// command tables, prints help and exits 0. "help --help" once recursed until
// the stack overflowed.
func TestEverySpellingOfHelp(t *testing.T) {
	spellings := []string{"help", "-h", "-help", "--help"}
	levels := [][]string{nil, {"signature"}, {"outbox"}, {"orders"}, {"sim", "notifications"}}
	for _, level := range levels {
		for _, first := range spellings {
			for _, second := range append([]string{""}, spellings...) {
				args := append(append([]string{}, level...), first)
				if second != "" {
					args = append(args, second)
				}
				t.Run(strings.Join(args, " "), func(t *testing.T) {
					r := runCLI(t, "", args...)
					expect{code: 0}.check(t, r)
					if !strings.Contains(r.stdout+r.stderr, "Usage: trustly-sidecar") {
						t.Errorf("no usage printed\n%v", r)
					}
				})
			}
		}
	}
	// help in front of a command asks for that command's help.
	for _, args := range [][]string{{"help", "signature", "help"}, {"help", "signature", "verify", "--help"}, {"help", "help", "version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			expect{code: 0, stdout: nil}.check(t, runCLI(t, "", args...))
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"plain failure", errors.New("disk full"), 1},
		{"usage mistake", cli.UsageError("bad flag"), 2},
		{"wrapped usage mistake", fmt.Errorf("context: %w", cli.UsageError("bad flag")), 2},
		{"help requested", &cli.ExitError{Code: cli.ExitOK, Err: flag.ErrHelp, Reported: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cli.ExitCode(tt.err); got != tt.want {
				t.Errorf("cli.ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// The same cases through the real binary: exit statuses are what scripts see.
func TestBinary(t *testing.T) {
	credit := readTestdata(t, "trustly-test-credit-notification.json")
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  expect
	}{
		{"version carries the -ldflags version", "", []string{"version"},
			expect{code: 0, stdout: []string{"trustly-sidecar " + testVersion, runtime.Version()}}},
		{"genuine Trustly notification from a pipe", credit, []string{"signature", "verify", "--public-key", "test"},
			expect{code: 0, stdout: []string{"valid\n"}}},
		{"TEST message checked with the LIVE key", credit, []string{"signature", "verify", "--public-key", "live", "-"},
			expect{code: 1, stdout: []string{"invalid: ", "TEST/LIVE key mix-up"}}},
		{"plaintext from a pipe", credit, []string{"signature", "plaintext"},
			expect{code: 0, stdout: []string{creditPlaintext + "\n"}}},
		{"unknown command", "", []string{"frobnicate"},
			expect{code: 2, stderr: []string{"unknown command"}, stdoutNone: true}},
		{"missing file", "", []string{"signature", "plaintext", "does-not-exist.json"},
			expect{code: 1, stderr: []string{"does-not-exist.json", "no such file"}, stdoutNone: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.check(t, exe(t, tt.stdin, tt.args...))
		})
	}
}

// Help fits the width people read it in, at every level.
func TestHelpFitsTheWidth(t *testing.T) {
	var paths [][]string
	for _, c := range rootCommands.Commands {
		paths = append(paths, []string{c.Name})
	}
	for _, g := range []struct {
		prefix []string
		group  *cli.Group
	}{{[]string{"signature"}, signatureCommands}, {[]string{"outbox"}, opscmd.OutboxCommands}, {[]string{"orders"}, opscmd.OrdersCommands}, {[]string{"sim", "notifications"}, simNotificationCommands}} {
		for _, c := range g.group.Commands {
			paths = append(paths, append(append([]string{}, g.prefix...), c.Name))
		}
	}
	paths = append(paths, nil)
	for _, p := range paths {
		r := runCLI(t, "", append(p, "-h")...)
		for line := range strings.SplitSeq(r.stdout+r.stderr, "\n") {
			if w := len(expandTabs(line)); w > cli.Width {
				t.Errorf("%s -h: a line of %d columns: %q", strings.Join(p, " "), w, line)
			}
		}
	}
}

func expandTabs(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\t' {
			b.WriteString(strings.Repeat(" ", 8-b.Len()%8))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
