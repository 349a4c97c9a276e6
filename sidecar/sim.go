package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

const (
	simPrivateKeyFile = "trustly_sim_private.pem"
	simPublicKeyFile  = "trustly_sim_public.pem"
	simDefaultAddr    = "127.0.0.1:8090"
	simDefaultURL     = "http://" + simDefaultAddr
)

var simNotificationCommands = &cli.Group{
	About: `The simulator's notification tool, like the one in Trustly's TEST backoffice,
talking to a running 'trustly-sidecar sim' over HTTP.`,
	Commands: []cli.Command{
		{Name: "list", Synopsis: "[--url URL] ORDERID", Summary: "list an order's notifications and their delivery attempts", Run: runSimList},
		{Name: "replay", Synopsis: "[--url URL] NOTIFICATIONID", Summary: "deliver a notification again now, identical (releases a held one)", Run: runSimReplay},
		{Name: "send", Synopsis: "[--url URL] --method M [--set key=value]... [--hold] ORDERID", Summary: "send a hand-made notification for an order", Run: runSimSend},
	},
}

// runSim runs the simulator, or with "notifications" its notification tool.
func runSim(ctx context.Context, e *cli.Env, name string, args []string) error {
	if len(args) > 0 && args[0] == "notifications" {
		return cli.Dispatch(ctx, e, name+" notifications", simNotificationCommands, args[1:])
	}
	fl := cli.NewFlagSet(e, name, "",
		"Runs a Trustly simulator: the JSON-RPC API on /api/1, checkout pages, notifications\n"+
			"to the merchant's NotificationURL, and a control API under /sim. State is in memory.\n"+
			"Its Trustly key pair is kept in --keys-dir, so the public key stays the same across\n"+
			"restarts. Also: '"+name+" notifications list|replay|send'.")
	addr := fl.String("addr", simDefaultAddr, "`HOST:PORT` to listen on (port 0 picks a free one)")
	relaxed := fl.Bool("relaxed", false, "accept plain-http NotificationURLs (local development)")
	merchantKeyPath := fl.String("merchant-public-key", "", "the merchant's public key, a `PEMFILE`; without it every call is answered 639")
	username := fl.String("username", "merchant", "API username the simulator accepts")
	password := fl.String("password", "sim-password", "API password the simulator accepts")
	keysDir := fl.String("keys-dir", "trustly-sim-keys", "`DIR`ectory holding the simulator's Trustly key pair; created with a new pair when missing")
	publicURL := fl.String("public-url", "", "base `URL` of checkout links (default: the listener's URL)")
	ttl := fl.Duration("checkout-ttl", sim.DefaultCheckoutTTL, "how long a checkout URL stays usable")
	settle := fl.Duration("settlement-delay", sim.DefaultSettlementDelay, "time from credit to settled funds (refunds wait for it)")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	var merchantKey *rsa.PublicKey
	if *merchantKeyPath != "" {
		b, err := cli.ReadFile(*merchantKeyPath)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if merchantKey, err = trustly.ParsePublicKey(b); err != nil {
			return fmt.Errorf("%s: --merchant-public-key %s: %w", name, *merchantKeyPath, err)
		}
	}
	// Listen before anything is written: a busy port must not leave a new
	// key folder behind.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("%s: %w (is a simulator already running? --addr picks another port)", name, err)
	}
	defer ln.Close()
	key, pubPath, err := loadSimKey(*keysDir)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s, err := sim.New(sim.Config{
		Username:          *username,
		Password:          *password,
		MerchantPublicKey: merchantKey,
		Key:               key,
		Relaxed:           *relaxed,
		CheckoutTTL:       *ttl,
		SettlementDelay:   *settle,
		PublicURL:         *publicURL,
		Logger:            slog.New(slog.NewTextHandler(e.Stderr, nil)),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := s.Serve(ln); err != nil {
		s.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	defer s.Close()
	mode := "strict: NotificationURL must be https (--relaxed allows http)"
	if *relaxed {
		mode = "relaxed: http NotificationURLs accepted"
	}
	merchant := *merchantKeyPath
	if merchant == "" {
		merchant = "none: every call is answered 639 ERROR_NO_PUBLIC_KEY (pass --merchant-public-key)"
	}
	fmt.Fprintf(e.Stdout, `Trustly simulator running
  URL:                  %s
  API URL:              %s
  Trustly public key:   %s (configure it as Trustly's key, environment SIM)
  Username:             %s
  Password:             %s
  Merchant public key:  %s
  Mode:                 %s
Notification tool: %s notifications list|replay|send --url %s
Press Ctrl-C to stop.
`, s.URL(), s.APIURL(), pubPath, *username, *password, merchant, mode, progName+" sim", s.URL())
	<-ctx.Done()
	fmt.Fprintln(e.Stdout, "Stopping.")
	return nil
}

// loadSimKey reads the simulator's key pair from dir, or creates it there,
// and returns the key and the public key's path.
func loadSimKey(dir string) (*rsa.PrivateKey, string, error) {
	privPath, pubPath := filepath.Join(dir, simPrivateKeyFile), filepath.Join(dir, simPublicKeyFile)
	b, err := cli.ReadFile(privPath)
	switch {
	case err == nil:
		key, err := trustly.ParsePrivateKey(b)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", privPath, err)
		}
		// The public half is rewritten from the private key, so the two can
		// never disagree.
		pub, err := trustly.MarshalPublicKey(&key.PublicKey)
		if err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
			return nil, "", err
		}
		return key, pubPath, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	priv, err := trustly.MarshalPrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	pub, err := trustly.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return nil, "", err
	}
	if err := writeNewFile(privPath, priv, 0o600); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		return nil, "", err
	}
	return key, pubPath, nil
}

// urlFlag is the --url flag every notification tool command takes.
func urlFlag(fl *flag.FlagSet) *string {
	return fl.String("url", simDefaultURL, "base `URL` of the running simulator")
}

func toolClient(raw string) (*sim.Client, error) {
	c, err := sim.NewClient(raw)
	if err != nil {
		return nil, cli.UsageError("--url %q is not an http(s) URL", raw)
	}
	return c, nil
}

func runSimList(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "ORDERID", "Lists the order's notifications, oldest first, with every delivery attempt.")
	base := urlFlag(fl)
	pos, err := cli.ParseArgs(fl, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.UsageError("%s: ORDERID is required", name)
	}
	c, err := toolClient(*base)
	if err != nil {
		return err
	}
	list, err := c.Notifications(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NOTIFICATIONID\tMETHOD\tSTATE\tATTEMPTS\tLAST")
	for _, n := range list {
		state := "unanswered"
		switch {
		case n.Held:
			state = "held"
		case n.Answered:
			state = "answered " + n.Status
		}
		last := "-"
		if k := len(n.Attempts); k > 0 {
			a := n.Attempts[k-1]
			last = a.At.UTC().Format(time.RFC3339) + " " + a.Trigger
			if a.OK {
				last += " ok"
			} else {
				last += ": " + a.Error
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", n.NotificationID, n.Method, state, len(n.Attempts), last)
	}
	return tw.Flush()
}

func runSimReplay(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "NOTIFICATIONID",
		"Delivers the notification again now, byte for byte the same (same notificationid and uuid).\n"+
			"A held notification is released. Exit status 1 when the merchant's reply is not valid.")
	base := urlFlag(fl)
	pos, err := cli.ParseArgs(fl, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.UsageError("%s: NOTIFICATIONID is required", name)
	}
	c, err := toolClient(*base)
	if err != nil {
		return err
	}
	a, err := c.Replay(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return reportAttempt(e, name, pos[0], a)
}

func reportAttempt(e *cli.Env, name, nid string, a sim.Attempt) error {
	if a.OK {
		fmt.Fprintf(e.Stdout, "delivered %s: HTTP %d, status %s\n", nid, a.HTTPStatus, a.Status)
		return nil
	}
	fmt.Fprintf(e.Stdout, "not delivered %s: %s\n", nid, a.Error)
	return &cli.ExitError{Code: cli.ExitFailure, Err: fmt.Errorf("%s: merchant did not answer validly: %s", name, a.Error), Reported: true}
}

// setFlags collects repeated --set key=value flags.
type setFlags map[string]any

func (s setFlags) String() string { return "" }
func (s setFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	if val == "" {
		s[k] = nil // removes the field
		return nil
	}
	s[k] = val
	return nil
}

func runSimSend(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "ORDERID",
		"Creates a notification for an existing order, signed by the simulator, and delivers it\n"+
			"now. Fields default to what the simulator would send for the method; --set replaces\n"+
			"one (key= removes it). The order itself does not change.")
	base := urlFlag(fl)
	method := fl.String("method", "", "notification `METHOD`: credit, debit, pending, cancel, account, payoutconfirmation, or any other")
	hold := fl.Bool("hold", false, "create it held: deliver it later with replay")
	set := setFlags{}
	fl.Var(set, "set", "override a data field: `key=value` (repeatable)")
	pos, err := cli.ParseArgs(fl, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.UsageError("%s: ORDERID is required", name)
	}
	if *method == "" {
		return cli.MissingFlag(fl, "method")
	}
	c, err := toolClient(*base)
	if err != nil {
		return err
	}
	n, err := c.Send(ctx, pos[0], sim.CustomNotification{Method: *method, Data: set, Hold: *hold})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *hold {
		fmt.Fprintf(e.Stdout, "held %s %s (replay it with '%s replay %s')\n", n.Method, n.NotificationID, strings.TrimSuffix(name, " send"), n.NotificationID)
		return nil
	}
	if len(n.Attempts) == 0 {
		return fmt.Errorf("%s: %s was created but not sent", name, n.NotificationID)
	}
	return reportAttempt(e, name, n.NotificationID, n.Attempts[len(n.Attempts)-1])
}
