// Package opscmd holds the operator's commands over what serve keeps in
// Redis (outbox, orders, unrouted, retain): they read only the REDIS_
// settings and work on an offline engine, never calling Trustly.
package opscmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/bridge"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

var OutboxCommands = &cli.Group{
	About: "The outbox of status changes to the shop platform: list what was dead-lettered and put it back,\n" +
		"or give up on a change that keeps failing.\n" +
		"Only the TRUSTLY_SIDECAR_REDIS_* settings are read (from the environment, as serve reads them).",
	Commands: []cli.Command{
		{Name: "list", Synopsis: "[--limit N]", Summary: "list dead-lettered status changes with the reason each was given up", Run: runOutboxList},
		{Name: "replay", Synopsis: "--all | SHARD/ID ...", Summary: "put dead-lettered changes back into the outbox; a running serve delivers them", Run: runOutboxReplay},
		{Name: "pending", Synopsis: "[--limit N]", Summary: "list changes handed to the platform and not acknowledged, with their failed deliveries", Run: runOutboxPending},
		{Name: "skip", Synopsis: "SHARD/ID ...", Summary: "give up on pending changes: dead-letter them (\"skipped by operator\") so their orders' later changes flow", Run: runOutboxSkip},
	},
}

// Outbox is "trustly-sidecar outbox".
func Outbox(ctx context.Context, e *cli.Env, name string, args []string) error {
	return cli.Dispatch(ctx, e, name, OutboxCommands, args)
}

// openOutbox returns the outbox of the platform deliveries, with nothing to
// deliver to: these commands only read and move entries. What the engine
// logs goes to logs.
func openOutbox(e *cli.Env, name string, logs io.Writer) (*engine.Outbox, func(), error) {
	eng, closeFn, err := openEngine(e, name, logs)
	if err != nil {
		return nil, nil, err
	}
	return eng.Outbox(nil, engine.OutboxConfig{Group: bridge.Group}), closeFn, nil
}

// openEngine connects to the configured Redis and returns an offline
// engine on it, for commands that read or move what serve keeps: they need
// the REDIS_ settings only. The engine logs to logs (text); closeFn
// disconnects.
func openEngine(e *cli.Env, name string, logs io.Writer) (eng *engine.Engine, closeFn func(), err error) {
	return openEngineWith(e, name, logs, store.OrdersOptions{})
}

// openEngineWith is openEngine with the order store's options.
func openEngineWith(e *cli.Env, name string, logs io.Writer, opts store.OrdersOptions) (eng *engine.Engine, closeFn func(), err error) {
	cfg, err := config.LoadRedis(e.Getenv, e.VariableNames())
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %v\n", name, err)
		return nil, nil, &cli.ExitError{Code: cli.ExitFailure, Err: err, Reported: true}
	}
	db, err := cfg.OpenStore()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	eng, err = engine.New(engine.Config{Store: db.Orders(opts), Offline: true, Now: e.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return eng, func() { db.Close() }, nil
}

// openForListing reads a listing command's --limit and opens the outbox.
func openForListing(e *cli.Env, name string, fl *flag.FlagSet, args []string) (*engine.Outbox, int64, func(), error) {
	limit := fl.Int64("limit", 100, "at most `N` entries per shard")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return nil, 0, nil, err
	}
	ob, closeFn, err := openOutbox(e, name, io.Discard)
	return ob, *limit, closeFn, err
}

func runOutboxList(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "", "Lists dead-lettered status changes, oldest first per shard. Replay one with\n"+
		"'"+strings.TrimSuffix(name, " list")+" replay SHARD/ID' once its cause is fixed.")
	ob, limit, closeFn, err := openForListing(e, name, fl, args)
	if err != nil {
		return err
	}
	defer closeFn()
	dead, err := ob.ListDead(ctx, limit)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(dead) == 0 {
		fmt.Fprintln(e.Stdout, "no dead-lettered status changes")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tORDER\tSEQ\tFLOW\tTO\tTRUSTLY ORDERID\tREASON")
	for _, d := range dead {
		c := d.Change
		fmt.Fprintf(tw, "%d/%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.Shard, d.ID, c.OrderID, c.Seq, c.Flow, c.To, c.TrustlyOrderID, d.Reason)
	}
	return tw.Flush()
}

func runOutboxReplay(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "--all | SHARD/ID ...", "Puts dead-lettered status changes back into the outbox (entries as 'outbox list'\n"+
		"prints them). The platform gets each again with the same change id, so it can dedupe.\n"+
		"The newest state wins: a change older than one the platform already got for its order\n"+
		"is skipped, not delivered (logged, and counted as outcome=\"stale\" in /metrics).")
	all := fl.Bool("all", false, "replay every dead-lettered change")
	pos, err := cli.ParseArgs(fl, args, 1<<20)
	if err != nil {
		return err
	}
	if *all == (len(pos) > 0) {
		return cli.UsageError("%s: give --all or one or more SHARD/ID entries (see '%s -h')", name, name)
	}
	refs, err := entryRefs(name, pos)
	if err != nil {
		return err
	}
	ob, closeFn, err := openOutbox(e, name, io.Discard)
	if err != nil {
		return err
	}
	defer closeFn()
	if *all {
		dead, err := ob.ListDead(ctx, 10000)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, d := range dead {
			refs = append(refs, entryRef{d.Shard, d.ID})
		}
	}
	for _, r := range refs {
		if err := ob.Replay(ctx, r.shard, r.id); err != nil {
			return fmt.Errorf("%s: %d/%s: %w", name, r.shard, r.id, err)
		}
		fmt.Fprintf(e.Stdout, "replayed %d/%s\n", r.shard, r.id)
	}
	if len(refs) == 0 {
		fmt.Fprintln(e.Stdout, "no dead-lettered status changes")
	}
	return nil
}

// entryRef names an outbox or dead-letter entry as the listings print it:
// SHARD/ID.
type entryRef struct {
	shard int
	id    string
}

func entryRefs(name string, args []string) ([]entryRef, error) {
	var refs []entryRef
	for _, p := range args {
		sh, id, ok := strings.Cut(p, "/")
		n, err := strconv.Atoi(sh)
		if !ok || err != nil || id == "" {
			return nil, cli.UsageError("%s: %q is not an entry SHARD/ID as 'outbox list' or 'outbox pending' prints it", name, p)
		}
		refs = append(refs, entryRef{n, id})
	}
	return refs, nil
}

func runOutboxPending(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "", "Lists status changes handed to the platform and not acknowledged, oldest first per\n"+
		"shard: in delivery, waiting for a retry (FAILURES > 0), or waiting for an earlier change\n"+
		"of their order. A change that fails retryably is retried until it lands and holds back\n"+
		"its order's later changes; give up on it with '"+strings.TrimSuffix(name, " pending")+" skip SHARD/ID'.")
	ob, limit, closeFn, err := openForListing(e, name, fl, args)
	if err != nil {
		return err
	}
	defer closeFn()
	pend, err := ob.ListPending(ctx, limit)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(pend) == 0 {
		fmt.Fprintln(e.Stdout, "no pending status changes")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tORDER\tSEQ\tFLOW\tTO\tTRUSTLY ORDERID\tDELIVERIES\tFAILURES")
	for _, p := range pend {
		c := p.Change
		fmt.Fprintf(tw, "%d/%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\n", p.Shard, p.ID, c.OrderID, c.Seq, c.Flow, c.To, c.TrustlyOrderID, p.Deliveries, p.Failures)
	}
	return tw.Flush()
}

func runOutboxSkip(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "SHARD/ID ...", "Gives up on pending status changes (entries as 'outbox pending' prints them) that\n"+
		"will not land: each goes to the dead letters with the reason \""+engine.ReasonSkipped+"\" and\n"+
		"counts as delivered, so the later changes of its order are delivered again. The\n"+
		"platform never got it: tell the shop, or replay it with 'outbox replay' once the cause\n"+
		"is fixed. Logged at WARN. A change not pending (unread, or delivered) is refused.")
	pos, err := cli.ParseArgs(fl, args, 1<<20)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.UsageError("%s: give one or more SHARD/ID entries (see '%s -h')", name, name)
	}
	refs, err := entryRefs(name, pos)
	if err != nil {
		return err
	}
	ob, closeFn, err := openOutbox(e, name, e.Stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	for _, r := range refs {
		c, err := ob.Skip(ctx, r.shard, r.id)
		if err != nil {
			return fmt.Errorf("%s: %d/%s: %w", name, r.shard, r.id, err)
		}
		fmt.Fprintf(e.Stdout, "skipped %d/%s (order %s seq %d to %s): dead-lettered\n", r.shard, r.id, c.OrderID, c.Seq, c.To)
	}
	return nil
}
