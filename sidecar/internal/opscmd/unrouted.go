package opscmd

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

// Unrouted is "trustly-sidecar unrouted": the notifications no order
// took, kept for a person (GET /v1/notifications/unrouted is the same list).
func Unrouted(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "", "Lists the notifications no order took (an unknown order or method, kyc, one that\n"+
		"did not parse as its method), oldest first: Trustly was answered, a person decides.\n"+
		"Only the TRUSTLY_SIDECAR_REDIS_* settings are read (from the environment, as serve reads them).")
	limit := fl.Int64("limit", 100, "at most `N` notifications (1 to 1000)")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	eng, closeFn, err := openEngine(e, name, io.Discard)
	if err != nil {
		return err
	}
	defer closeFn()
	kept, err := eng.Unrouted(ctx, *limit)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(kept) == 0 {
		fmt.Fprintln(e.Stdout, "no notifications kept for a person")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tNOTIFICATIONID\tMETHOD\tTRUSTLY ORDERID\tMESSAGEID\tANSWER\tREASON")
	for _, u := range kept {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.At.UTC().Format(time.RFC3339), u.NotificationID, u.Method,
			u.OrderID, u.MessageID, u.Answer, u.Reason)
	}
	return tw.Flush()
}
