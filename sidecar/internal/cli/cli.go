// Package cli is the sidecar binary's small command-line framework: command
// tables with generated help, flags wherever they appear among the
// arguments, exit statuses that are part of the interface, and input read
// from a file or stdin with a size limit. Every command gets an *Env rather
// than the process's os.Stdout and friends, so tests run commands
// in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Env is what a command may touch of the outside world. Passing it in,
// rather than using os directly, lets tests run every command in-process
// (with their own clock, too).
type Env struct {
	Getenv func(string) string
	// Names lists the variables set in the environment, so settings can
	// refuse names that are not theirs (a misspelling is otherwise
	// silently ignored); nil means unknown, and nothing is refused.
	Names  func() []string
	Now    func() time.Time
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// VariableNames are the variables set in the environment, or nil when the
// Env cannot tell.
func (e *Env) VariableNames() []string {
	if e.Names == nil {
		return nil
	}
	return e.Names()
}

// Command is one entry of a command table; a command with subcommands
// dispatches into its own Group.
type Command struct {
	Name     string
	Synopsis string // flags and arguments, for the command list
	Summary  string
	// Run gets the full command name ("trustly-sidecar signature sign") for
	// its messages, and the arguments after it.
	Run func(ctx context.Context, e *Env, name string, args []string) error
}

// Group is a command table with the text around its help.
type Group struct {
	About    string
	Footer   string
	Commands []Command
	// Version, when set, answers --version (the root table's "version"
	// command): the spelling people try first.
	Version func(ctx context.Context, e *Env, name string, args []string) error
}

// Exit statuses. Scripts branch on them, so they are part of the interface
// and listed in the help text.
const (
	ExitOK      = 0
	ExitFailure = 1 // the work failed: a signature did not verify, a file could not be read, ...
	ExitUsage   = 2 // the command line was wrong
)

// ExitError carries the exit status of a failure. Reported means the user
// has already been told (flag usage, "invalid: ..."), so the caller stays
// quiet.
type ExitError struct {
	Code     int
	Err      error
	Reported bool
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError is a mistake on the command line: exit status 2.
func UsageError(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// ExitCode maps a command's result to the process exit status. Errors
// without an explicit status are failures.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var xe *ExitError
	if errors.As(err, &xe) {
		return xe.Code
	}
	return ExitFailure
}

// Dispatch runs the command named by args[0] from g. "help", "-h" and
// "--help" print g's help on stdout; a missing or unknown command prints it
// on stderr with exit status 2.
func Dispatch(ctx context.Context, e *Env, name string, g *Group, args []string) error {
	if len(args) == 0 {
		g.usage(e.Stderr, name)
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: no command given", name), Reported: true}
	}
	if g.Version != nil && (args[0] == "--version" || args[0] == "-version") {
		return g.Version(ctx, e, name+" version", args[1:])
	}
	if isHelp(args[0]) {
		// "help signature verify" is "signature verify -h". Every further
		// spelling of help is dropped first: "help --help" or "-h -h" must
		// print help, not ask for help about help forever.
		rest := dropHelp(args[1:])
		if len(rest) == 0 {
			g.usage(e.Stdout, name)
			return nil
		}
		return Dispatch(ctx, e, name, g, append(rest, "-h"))
	}
	for _, c := range g.Commands {
		if c.Name == args[0] {
			return c.Run(ctx, e, name+" "+c.Name, args[1:])
		}
	}
	fmt.Fprintf(e.Stderr, "%s: unknown command %q\n\n", name, args[0])
	g.usage(e.Stderr, name)
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: unknown command %q", name, args[0]), Reported: true}
}

// isHelp reports the spellings of a request for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func dropHelp(args []string) []string {
	var rest []string
	for _, a := range args {
		if !isHelp(a) {
			rest = append(rest, a)
		}
	}
	return rest
}

// Width is the column help text fits in: a terminal's 80 would be tight
// for the flag lists, 100 is what the issue tracker and most terminals show.
const Width = 100

func (g *Group) usage(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: %s <command> [flags] [arguments]\n\n%s\n\nCommands:\n", name, g.About)
	for _, c := range g.Commands {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(c.Name+" "+c.Synopsis))
		fmt.Fprint(w, wrap(c.Summary, "      "))
	}
	fmt.Fprint(w, "  help [command]\n      show help\n")
	if g.Footer != "" {
		fmt.Fprintf(w, "\n%s\n", g.Footer)
	}
}

// wrapLong wraps the lines of text longer than Width and keeps the others
// as they are (an aligned table stays aligned); it ends with a newline.
func wrapLong(text string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		if len(line) > Width {
			b.WriteString(wrap(line, ""))
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// wrap breaks text into lines of at most Width columns, each starting with
// indent (a tab counts as reaching the next multiple of 8), and ends it
// with a newline.
func wrap(text, indent string) string {
	col := 0
	for _, r := range indent {
		if r == '\t' {
			col = (col/8 + 1) * 8
		} else {
			col++
		}
	}
	var b strings.Builder
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && col+len(line)+1+len(word) > Width {
			b.WriteString(indent + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	b.WriteString(indent + line + "\n")
	return b.String()
}

// NewFlagSet returns a FlagSet that reports to stderr and returns errors
// rather than exiting, so commands stay testable in-process.
func NewFlagSet(e *Env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
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
		fmt.Fprintf(w, "\n\n%s", wrapLong(about))
		if !hasFlags {
			return
		}
		fmt.Fprint(w, "\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  --%s %s\n", f.Name, arg)
			if f.DefValue != "" && f.DefValue != "false" {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprint(w, wrap(usage, "    \t"))
		})
	}
	return fs
}

// ParseArgs parses flags wherever they appear among the arguments (the flag
// package alone stops at the first argument, so "verify msg.json --public-key
// test" would silently ignore the key) and returns the positional arguments,
// at most maxPos of them. "--" ends the flags.
func ParseArgs(fs *flag.FlagSet, args []string, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &ExitError{Code: ExitOK, Err: err, Reported: true}
			}
			// The flag package has already printed the error and the usage.
			return nil, &ExitError{Code: ExitUsage, Err: err, Reported: true}
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
		return nil, UsageError("%s: unexpected argument %q (see '%s -h')", fs.Name(), pos[maxPos], fs.Name())
	}
	return pos, nil
}

// IsSet reports whether the flag was given on the command line, as opposed
// to holding its default.
func IsSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// MissingFlag is the usage error of a required flag left out.
func MissingFlag(fs *flag.FlagSet, flagName string) error {
	return UsageError("%s: --%s is required (see '%s -h')", fs.Name(), flagName, fs.Name())
}

// MaxInput bounds what a command reads. Trustly messages are a few KiB; the
// limit only stops a wrong file or an endless pipe from eating memory.
const MaxInput = 10 << 20

// ReadInput reads the file named by the only positional argument, or stdin
// when there is none or it is "-". It returns a name for messages.
func ReadInput(e *Env, pos []string) ([]byte, string, error) {
	if len(pos) == 0 || pos[0] == "-" {
		b, err := readLimited(e.Stdin, "stdin")
		if err != nil {
			return nil, "stdin", fmt.Errorf("read stdin: %w", err)
		}
		return b, "stdin", nil
	}
	b, err := ReadFile(pos[0])
	return b, pos[0], err
}

// ReadFile reads a file of at most MaxInput bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // names the operation and the path already
	}
	defer f.Close()
	return readLimited(f, path)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, err // *os.File errors name the path; readInput names stdin
	}
	if len(b) > MaxInput {
		return nil, fmt.Errorf("%s is larger than the %d MiB limit (Trustly messages are a few KiB)", name, MaxInput>>20)
	}
	return b, nil
}

// ErrEmptyInput is its own error because an empty pipe is almost always a
// mistake upstream, not a message.
var ErrEmptyInput = errors.New("input is empty (expected one Trustly JSON-RPC message)")

// IsBlank reports input that is only white space.
func IsBlank(b []byte) bool { return strings.TrimSpace(string(b)) == "" }
