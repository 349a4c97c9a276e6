package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

var signatureCommands = &cli.Group{
	About: `Shows, creates and checks the signature of any Trustly JSON-RPC message:
  signature = base64(RSA-PKCS1v15(SHA1(method + uuid + serialize(data)))).
Each command reads one message from FILE, or from stdin when FILE is absent or "-".`,
	Commands: []cli.Command{
		{Name: "plaintext", Synopsis: "[-n] [--kind] [FILE|-]", Summary: "print the exact string the signature covers", Run: runPlaintext},
		{Name: "sign", Synopsis: "--private-key PEMFILE [FILE|-]", Summary: "sign a message and print it back with the signature in place", Run: runSign},
		{Name: "verify", Synopsis: "--public-key PEMFILE|test|live [--env test|live|sim] [FILE|-]", Summary: "check a message's signature", Run: runVerify},
	},
	Footer: `Messages of all five kinds are understood; the signature lives in
  request (merchant -> Trustly)          params.Signature
  notification (Trustly -> merchant)     params.signature
  response (Trustly's answer)            result.signature
  error (Trustly's error answer)         error.error.signature
  notification reply (merchant's answer) result.signature

verify prints "valid" (exit 0) or "invalid: <reason>" (exit 1) on stdout for
any message it could read, including one that does not parse. Problems that
stop it from checking at all (unreadable file, bad key, empty input) go to
stderr with exit 1; command-line mistakes exit 2.`,
}

func runSignature(ctx context.Context, e *cli.Env, name string, args []string) error {
	return cli.Dispatch(ctx, e, name, signatureCommands, args)
}

func runPlaintext(_ context.Context, e *cli.Env, name string, args []string) error {
	fs := cli.NewFlagSet(e, name, "[FILE|-]",
		"Prints the exact string the message's signature covers, followed by a newline:\n"+
			"method + uuid + serialize(data). Pass -n for the bytes alone, e.g.\n"+
			"  "+name+" -n msg.json | openssl dgst -sha1")
	noNewline := fs.Bool("n", false, "omit the trailing newline, so the output is byte for byte what is signed")
	describe := fs.Bool("kind", false, "also describe the message (kind, method, uuid, signature location) on stderr")
	pos, err := cli.ParseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	m, err := readMessage(e, pos)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	p, err := m.Plaintext()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *describe {
		fmt.Fprintf(e.Stderr, "%s: method %q, uuid %q, signature in %s\n", m.Kind, m.Method(), m.UUID(), m.SignaturePath())
	}
	if !*noNewline {
		p += "\n"
	}
	if _, err := fmt.Fprint(e.Stdout, p); err != nil {
		return fmt.Errorf("%s: write output: %w", name, err)
	}
	return nil
}

func runSign(_ context.Context, e *cli.Env, name string, args []string) error {
	fs := cli.NewFlagSet(e, name, "[FILE|-]",
		"Signs the message with the merchant private key and prints it back as one line\n"+
			"of JSON, the signature in the place its kind requires. Keys come out sorted;\n"+
			"the signature depends only on the content, not on the layout.")
	keyPath := fs.String("private-key", "", "merchant RSA private key, a `PEMFILE` (PKCS#1 or PKCS#8, not encrypted)")
	pos, err := cli.ParseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if *keyPath == "" {
		return cli.MissingFlag(fs, "private-key")
	}
	pemBytes, err := cli.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("%s: private key: %w", name, err)
	}
	key, err := trustly.ParsePrivateKey(pemBytes)
	if err != nil {
		return fmt.Errorf("%s: private key %s: %w", name, *keyPath, err)
	}
	m, err := readMessage(e, pos)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// Both are part of what is signed: a signature made without them only
	// fits a message Trustly would refuse anyway.
	if m.Method() == "" || m.UUID() == "" {
		return fmt.Errorf("%s: the %s has no method or uuid; both are signed, so fill them in first", name, m.Kind)
	}
	if err := m.Sign(key); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	out, err := m.MarshalJSON()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := fmt.Fprintf(e.Stdout, "%s\n", out); err != nil {
		return fmt.Errorf("%s: write output: %w", name, err)
	}
	return nil
}

func runVerify(_ context.Context, e *cli.Env, name string, args []string) error {
	fs := cli.NewFlagSet(e, name, "[FILE|-]",
		"Checks the message's signature. --public-key test or live selects Trustly's\n"+
			"built-in key for that environment; anything else is a PEM file (write ./test\n"+
			"for a file called test). A message that fails with one Trustly key but passes\n"+
			"with the other is reported as a TEST/LIVE mix-up.")
	keyArg := fs.String("public-key", "", "a `PEMFILE`, or test or live for Trustly's own keys")
	envArg := fs.String("env", "test", "`test|live|sim`: the environment the key file belongs to; only sharpens the mix-up diagnosis")
	pos, err := cli.ParseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if *keyArg == "" {
		return cli.MissingFlag(fs, "public-key")
	}
	v, builtin, err := loadVerifier(fs, *keyArg, *envArg)
	if err != nil {
		return err
	}
	raw, source, err := cli.ReadInput(e, pos)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cli.IsBlank(raw) {
		return fmt.Errorf("%s: %s: %w", name, source, cli.ErrEmptyInput)
	}
	m, err := trustly.ParseMessage(raw)
	if err == nil {
		err = m.Verify(v)
		if err != nil && builtin && !m.Kind.SignedByTrustly() {
			err = fmt.Errorf("%w (a %s is signed with the merchant's key, not Trustly's: pass the merchant public key file)", err, m.Kind)
		}
	}
	if err != nil {
		fmt.Fprintf(e.Stdout, "invalid: %s\n", strings.TrimPrefix(err.Error(), "trustly: "))
		return &cli.ExitError{Code: cli.ExitFailure, Err: err, Reported: true}
	}
	_, err = fmt.Fprintln(e.Stdout, "valid")
	return err
}

// loadVerifier turns --public-key and --env into a Verifier. builtin reports
// whether one of Trustly's own keys was chosen by name.
func loadVerifier(fs *flag.FlagSet, keyArg, envArg string) (v *trustly.Verifier, builtin bool, err error) {
	env, err := trustly.ParseEnvironment(envArg)
	if err != nil {
		return nil, false, cli.UsageError("%s: --env: %w", fs.Name(), err)
	}
	envGiven := cli.IsSet(fs, "env")
	switch strings.ToLower(keyArg) {
	case "test", "live":
		named := trustly.Environment(strings.ToUpper(keyArg))
		if envGiven && env != named {
			return nil, false, cli.UsageError("%s: --env %s contradicts --public-key %s", fs.Name(), envArg, keyArg)
		}
		v, err := trustly.NewVerifier(named)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		return v, true, nil
	}
	pemBytes, err := cli.ReadFile(keyArg)
	if err != nil {
		return nil, false, fmt.Errorf("%s: public key: %w", fs.Name(), err)
	}
	key, err := trustly.ParsePublicKey(pemBytes)
	if err != nil {
		return nil, false, fmt.Errorf("%s: public key %s: %w", fs.Name(), keyArg, err)
	}
	// A file holding one of Trustly's keys says which environment it is;
	// without this, the mix-up diagnosis would name the wrong side.
	for _, known := range []trustly.Environment{trustly.Test, trustly.Live} {
		if !key.Equal(known.PublicKey()) {
			continue
		}
		if envGiven && env != known {
			return nil, false, cli.UsageError("%s: --env %s, but %s is Trustly's %s key", fs.Name(), envArg, keyArg, known)
		}
		env = known
	}
	return trustly.NewVerifierKey(env, key), false, nil
}

// readMessage reads and parses the one message a signature command works on.
func readMessage(e *cli.Env, pos []string) (*trustly.Message, error) {
	raw, source, err := cli.ReadInput(e, pos)
	if err != nil {
		return nil, err
	}
	if cli.IsBlank(raw) {
		return nil, fmt.Errorf("%s: %w", source, cli.ErrEmptyInput)
	}
	m, err := trustly.ParseMessage(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return m, nil
}
