package opscmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// Retain is "trustly-sidecar retain": the one-off for a store written
// before retention existed (or with TRUSTLY_SIDECAR_RETENTION=0), whose
// keys have no TTL until their order's next write.
func Retain(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "", "Gives the keys written while nothing expired (before retention existed, or with\n"+
		config.Key("RETENTION")+"=0) the TTL their next write would give them: a settled\n"+
		"order with its dedupe records, log and index entries expires the retention after its last\n"+
		"change, a shopper's accounts without an active mandate the retention from now, an unrouted\n"+
		"notification the retention after its arrival; none sooner than 24h from now. Open,\n"+
		"pending and active-mandate orders stay. Scans every key once: run it off-peak, after\n"+
		"--dry-run. Only the TRUSTLY_SIDECAR_REDIS_* settings and the retention are read.")
	def := e.Getenv(config.Key("RETENTION"))
	if def == "" {
		def = "9600h"
	}
	retention := fl.String("retention", def, "the `DURATION` ("+config.Key("RETENTION")+" if set), at least 2160h")
	dryRun := fl.Bool("dry-run", false, "only count what would get a TTL")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	r, err := time.ParseDuration(*retention)
	switch {
	case err != nil:
		return cli.UsageError("%s: --retention %q is not a duration like 9600h", name, *retention)
	case r < store.MinRetention:
		return cli.UsageError("%s: --retention %s is shorter than %s (0 keeps everything: nothing to do)", name, r, store.MinRetention)
	}
	eng, closeFn, err := openEngineWith(e, name, io.Discard, store.OrdersOptions{Retention: r})
	if err != nil {
		return err
	}
	defer closeFn()
	rep, err := eng.Retain(ctx, *dryRun)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	verb := "gave a TTL to"
	if *dryRun {
		verb = "would give a TTL to"
	}
	fmt.Fprintf(e.Stdout, "%s %d orders, %d shoppers' accounts, %d unrouted notifications (retention %s)\n",
		verb, rep.Orders, rep.Accounts, rep.Unrouted, r)
	return nil
}
