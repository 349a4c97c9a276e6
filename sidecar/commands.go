package main

import (
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/opscmd"
)

// rootCommands is the binary's command table: adding a command is adding
// one entry here.
var rootCommands = &cli.Group{
	About: "A sidecar for Trustly's EU JSON-RPC 1.1 payment API.",
	Commands: []cli.Command{
		{Name: "version", Synopsis: "", Summary: "print the version, the commit it was built from, the Go version and the crypto", Run: runVersion},
		{Name: "signature", Synopsis: "plaintext|sign|verify ...", Summary: "show, create and check Trustly message signatures", Run: runSignature},
		{Name: "keygen", Synopsis: "[--out-dir DIR] [--bits 2048|3072|4096]", Summary: "create the merchant key pair whose public half you upload to Trustly", Run: runKeygen},
		{Name: "serve", Synopsis: "", Summary: "run the sidecar: notification route, shop API, /readyz, /metrics (settings from the environment)", Run: runServe},
		{Name: "config", Synopsis: "[--check]", Summary: "print every setting with its variable, value, default and description (secrets masked); check them", Run: runConfig},
		{Name: "notify", Synopsis: "--url URL --key PEM --orderid ID --messageid ID [--method M] [--amount A] ...", Summary: "send a signed test notification to a running sidecar (like Trustly's Notification tool)", Run: runNotify},
		{Name: "outbox", Synopsis: "list|replay|pending|skip ...", Summary: "list and replay dead-lettered status changes, list pending ones, give up on one (Redis settings from the environment)", Run: opscmd.Outbox},
		{Name: "orders", Synopsis: "show ORDER-ID", Summary: "an order's state and timeline (settings from the environment: Redis only)", Run: opscmd.Orders},
		{Name: "unrouted", Synopsis: "[--limit N]", Summary: "list the notifications no order took, kept for a person (settings from the environment, like serve)", Run: opscmd.Unrouted},
		{Name: "retain", Synopsis: "[--dry-run] [--retention DURATION]", Summary: "give keys written before retention existed their TTL (once, after an upgrade)", Run: opscmd.Retain},
		{Name: "plugin", Synopsis: "<name>", Summary: "serve a built-in platform adapter as a plugin process (serve starts this itself)", Run: runPlugin},
		{Name: "sim", Synopsis: "[--addr HOST:PORT] [--relaxed] [--merchant-public-key PEMFILE] ... | notifications ...", Summary: "run a local Trustly simulator, or use its notification tool", Run: runSim},
		{Name: "demo", Synopsis: "[--addr HOST:PORT] [--presentation iframe|redirect]", Summary: "try it: simulator, sidecar (SIM, embedded store) and a demo shop page on one machine (make run)", Run: runDemo},
	},
	Version: runVersion,
	Footer: `Run '` + progName + ` <command> -h' for a command's flags; '` + progName + ` --version'
prints the version.

Exit status:
  0  success; for 'signature verify', the signature is valid
  1  failure: the signature does not verify, the message cannot be parsed,
     a file or key cannot be read or written, or the configuration is
     invalid ('serve', 'config --check')
  2  usage error: unknown command, unknown or missing flag, extra arguments`,
}
