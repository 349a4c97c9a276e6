package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// command is one entry of a command table. Adding a command to the binary is
// adding one entry to rootCommands; a command with subcommands dispatches
// into its own group (see signatureCommands).
type command struct {
	name     string
	synopsis string // flags and arguments, for the command list
	summary  string
	// run gets the full command name ("trustly-sidecar signature sign") for
	// its messages, and the arguments after it.
	run func(ctx context.Context, e *env, name string, args []string) error
}

// group is a command table with the text around its help.
type group struct {
	about    string
	footer   string
	commands []command
}

var rootCommands = &group{
	about: "A sidecar for Trustly's EU JSON-RPC 1.1 payment API.",
	commands: []command{
		{"version", "", "print the version and the Go version it was built with", runVersion},
		{"signature", "plaintext|sign|verify ...", "show, create and check Trustly message signatures", runSignature},
		{"keygen", "[--out-dir DIR] [--bits 2048|3072|4096]", "create the merchant key pair whose public half you upload to Trustly", runKeygen},
		{"serve", "", "run the sidecar: notification route, shop API, /readyz, /metrics (settings from the environment)", runServe},
		{"config", "[--check]", "print every setting with its variable, value, default and description (secrets masked); check them", runConfig},
		{"notify", "--url URL --key PEM --orderid ID --messageid ID [--method M] [--amount A] ...", "send a signed test notification to a running sidecar (like Trustly's Notification tool)", runNotify},
		{"outbox", "list|replay ...", "list and replay dead-lettered status changes (settings from the environment, like serve)", runOutbox},
		{"plugin", "<name>", "serve a built-in platform adapter as a plugin process (serve starts this itself)", runPlugin},
		{"sim", "[--addr HOST:PORT] [--relaxed] [--merchant-public-key PEMFILE] ... | notifications ...", "run a local Trustly simulator, or use its notification tool", runSim},
		{"demo", "[--addr HOST:PORT] [--presentation iframe|redirect]", "try it: simulator, sidecar (SIM, embedded store) and a demo shop page on one machine (make run)", runDemo},
	},
	footer: `Run '` + progName + ` <command> -h' for a command's flags.

Exit status:
  0  success; for 'signature verify', the signature is valid
  1  failure: the signature does not verify, the message cannot be parsed,
     a file or key cannot be read or written, or the configuration is
     invalid ('serve', 'config --check')
  2  usage error: unknown command, unknown or missing flag, extra arguments`,
}

// dispatch runs the command named by args[0] from g. "help", "-h" and
// "--help" print g's help on stdout; a missing or unknown command prints it
// on stderr with exit status 2.
func dispatch(ctx context.Context, e *env, name string, g *group, args []string) error {
	if len(args) == 0 {
		g.usage(e.stderr, name)
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: no command given", name), reported: true}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			// "help signature verify" is "signature verify -h".
			return dispatch(ctx, e, name, g, append(args[1:], "-h"))
		}
		g.usage(e.stdout, name)
		return nil
	}
	for _, c := range g.commands {
		if c.name == args[0] {
			return c.run(ctx, e, name+" "+c.name, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", name, args[0])
	g.usage(e.stderr, name)
	return &exitError{code: exitUsage, err: fmt.Errorf("%s: unknown command %q", name, args[0]), reported: true}
}

func (g *group) usage(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: %s <command> [flags] [arguments]\n\n%s\n\nCommands:\n", name, g.about)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range g.commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.synopsis, c.summary)
	}
	fmt.Fprintf(tw, "  help [command]\tshow help\n")
	tw.Flush()
	if g.footer != "" {
		fmt.Fprintf(w, "\n%s\n", g.footer)
	}
}

// newFlagSet returns a FlagSet that reports to stderr and returns errors
// rather than exiting, so commands stay testable in-process.
func newFlagSet(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s", name)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(w, " [flags]")
		}
		if synopsis != "" {
			fmt.Fprint(w, " "+synopsis)
		}
		fmt.Fprintf(w, "\n\n%s\n", about)
		if !hasFlags {
			return
		}
		fmt.Fprint(w, "\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  --%s %s\n    \t%s", f.Name, arg, usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
	return fs
}

// parseArgs parses flags wherever they appear among the arguments (the flag
// package alone stops at the first argument, so "verify msg.json --public-key
// test" would silently ignore the key) and returns the positional arguments,
// at most maxPos of them. "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &exitError{code: exitOK, err: err, reported: true}
			}
			// The flag package has already printed the error and the usage.
			return nil, &exitError{code: exitUsage, err: err, reported: true}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) > maxPos {
		return nil, usageError("%s: unexpected argument %q (see '%s -h')", fs.Name(), pos[maxPos], fs.Name())
	}
	return pos, nil
}

// flagSet reports whether the flag was given on the command line, as opposed
// to holding its default.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

func missingFlag(fs *flag.FlagSet, flagName string) error {
	return usageError("%s: --%s is required (see '%s -h')", fs.Name(), flagName, fs.Name())
}

// maxInput bounds what a command reads. Trustly messages are a few KiB; the
// limit only stops a wrong file or an endless pipe from eating memory.
const maxInput = 10 << 20

// readInput reads the file named by the only positional argument, or stdin
// when there is none or it is "-". It returns a name for messages.
func readInput(e *env, pos []string) ([]byte, string, error) {
	if len(pos) == 0 || pos[0] == "-" {
		b, err := readLimited(e.stdin, "stdin")
		if err != nil {
			return nil, "stdin", fmt.Errorf("read stdin: %w", err)
		}
		return b, "stdin", nil
	}
	b, err := readFile(pos[0])
	return b, pos[0], err
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // names the operation and the path already
	}
	defer f.Close()
	return readLimited(f, path)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err // *os.File errors name the path; readInput names stdin
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s is larger than the %d MiB limit (Trustly messages are a few KiB)", name, maxInput>>20)
	}
	return b, nil
}

// errEmptyInput is its own error because an empty pipe is almost always a
// mistake upstream, not a message.
var errEmptyInput = errors.New("input is empty (expected one Trustly JSON-RPC message)")

func isBlank(b []byte) bool { return strings.TrimSpace(string(b)) == "" }
