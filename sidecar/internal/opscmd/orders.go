package opscmd

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

var OrdersCommands = &cli.Group{
	About: "The orders serve keeps: what happened to one, for the person answering \"where is my money\".\n" +
		"Only the TRUSTLY_SIDECAR_REDIS_* settings are read (from the environment, as serve reads them).",
	Commands: []cli.Command{
		{Name: "show", Synopsis: "ORDER-ID", Summary: "an order's state and timeline: calls to Trustly, notifications, changes, platform deliveries", Run: runOrdersShow},
	},
}

// Orders is "trustly-sidecar orders".
func Orders(ctx context.Context, e *cli.Env, name string, args []string) error {
	return cli.Dispatch(ctx, e, name, OrdersCommands, args)
}

func runOrdersShow(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "ORDER-ID", "Prints the order's state and its timeline, oldest first: every call to Trustly\n"+
		"(method, MessageID, result or error code), every notification (method, notificationid,\n"+
		"what the engine did), every change of state and every status change the platform got.")
	pos, err := cli.ParseArgs(fl, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.UsageError("%s: give the order id (see '%s -h')", name, name)
	}
	eng, closeFn, err := openEngine(e, name, io.Discard)
	if err != nil {
		return err
	}
	defer closeFn()
	o, err := eng.GetPayment(ctx, pos[0])
	if engine.KindOf(err) == engine.KindNotFound {
		return fmt.Errorf("%s: no such order %q in this Redis (check TRUSTLY_SIDECAR_REDIS_PREFIX): %w", name, pos[0], err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	tl, err := eng.Timeline(ctx, o.ID)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(e.Stdout, "%s\nTrustly orderid %s, MessageID %s\n\n", o, orNone(o.TrustlyOrderID), orNone(o.MessageID))
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tWHAT\tOUTCOME\tSTATE\tNOTIFICATIONID\tNOTE")
	for _, t := range tl {
		state := string(t.To)
		if t.From != "" && t.From != t.To {
			state = string(t.From) + " → " + state
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.At.UTC().Format(time.RFC3339), t.Kind, t.What, t.Outcome, state, t.NotificationID, t.Note)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
