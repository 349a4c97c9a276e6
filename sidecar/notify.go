package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

// runNotify is "trustly-sidecar notify": Trustly's Notification tool for a
// running sidecar. It signs one notification with the given key (the
// simulator's, or any key the sidecar is configured to trust), posts it to
// the NotificationURL and shows the answer.
func runNotify(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "",
		"Sends one signed test notification to a running sidecar, like Trustly's Notification\n"+
			"tool, and prints the HTTP status, the reply and whether the reply's signature verifies.\n"+
			"The sidecar must trust the signing key (SIM: the simulator's trustly_sim_private.pem).")
	target := fl.String("url", "", "the sidecar's NotificationURL, http(s)://HOST/trustly/notifications/SECRET (required)")
	keyFile := fl.String("key", "", "`PEM` file with the private key that signs the notification, Trustly's or the simulator's (required)")
	method := fl.String("method", "credit", "notification `METHOD`: pending, credit, debit, cancel, payoutconfirmation")
	orderID := fl.String("orderid", "", "Trustly's OrderID of the order (required)")
	messageID := fl.String("messageid", "", "the MessageID the order was created with (required)")
	amount := fl.String("amount", "", `amount, in minor units ("10300") or with two decimals ("103.00"); for pending, credit, debit, payoutconfirmation`)
	currency := fl.String("currency", "SEK", "ISO 4217 `CURRENCY`")
	endUserID := fl.String("enduserid", "", "the shopper's EndUserID")
	notificationID := fl.String("notificationid", "", "the notificationid; default a fresh one (repeat one to test deduplication)")
	merchantKey := fl.String("merchant-public-key", "", "`PEM` file with the merchant's public key, to verify the reply's signature")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	for _, req := range []struct{ flag, v string }{{"url", *target}, {"key", *keyFile}, {"orderid", *orderID}, {"messageid", *messageID}} {
		if req.v == "" {
			return cli.MissingFlag(fl, req.flag)
		}
	}
	key, verifyKey, err := notifyKeys(*keyFile, *merchantKey)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	data, err := notificationData(*method, *orderID, *messageID, *amount, *currency, *endUserID, *notificationID, e.Now())
	if err != nil {
		return cli.UsageError("%s: %v", name, err)
	}
	uuid := trustly.NewUUID()
	body, err := signedNotification(key, *method, uuid, data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *target, bytes.NewReader(body))
	if err != nil {
		return cli.UsageError("%s: --url: %v", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		// The URL holds the notification secret: name the host only.
		return fmt.Errorf("%s: post to %s: %w", name, req.URL.Host, withoutURL(err))
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, cli.MaxInput))
	if err != nil {
		return fmt.Errorf("%s: read the reply: %w", name, err)
	}
	fmt.Fprintf(e.Stdout, "sent %s notificationid %v uuid %s\nHTTP %s\n%s\n", *method, data["notificationid"], uuid, resp.Status, strings.TrimSpace(string(reply)))
	if resp.StatusCode != http.StatusOK {
		return &cli.ExitError{Code: cli.ExitFailure, Err: fmt.Errorf("%s: the sidecar answered %s", name, resp.Status), Reported: true}
	}
	if verifyKey == nil {
		fmt.Fprintln(e.Stdout, "reply signature: not checked (give --merchant-public-key)")
		return nil
	}
	status, err := trustly.ParseReply(reply, verifyKey, *method, uuid)
	if err != nil {
		fmt.Fprintf(e.Stdout, "reply signature: INVALID: %v\n", err)
		return &cli.ExitError{Code: cli.ExitFailure, Err: err, Reported: true}
	}
	fmt.Fprintf(e.Stdout, "reply signature: valid; status %s\n", status)
	return nil
}

// notifyKeys reads the signing key and, when a file is named, the merchant
// key that checks the reply.
func notifyKeys(keyFile, merchantKeyFile string) (*rsa.PrivateKey, *rsa.PublicKey, error) {
	kb, err := cli.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--key: %w", err)
	}
	key, err := trustly.ParsePrivateKey(kb)
	if err != nil {
		return nil, nil, fmt.Errorf("--key %s: %w", keyFile, err)
	}
	if merchantKeyFile == "" {
		return key, nil, nil
	}
	pb, err := cli.ReadFile(merchantKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--merchant-public-key: %w", err)
	}
	pub, err := trustly.ParsePublicKey(pb)
	if err != nil {
		return nil, nil, fmt.Errorf("--merchant-public-key %s: %w", merchantKeyFile, err)
	}
	return key, pub, nil
}

// notificationData is the data of a test notification; amount is required
// for the methods that carry one.
func notificationData(method, orderID, messageID, amount, currency, endUserID, notificationID string, now time.Time) (map[string]any, error) {
	data := map[string]any{
		"orderid":   orderID,
		"messageid": messageID,
		"timestamp": now.UTC().Format("2006-01-02 15:04:05.000000") + "+00",
	}
	if notificationID == "" {
		notificationID = strconv.FormatInt(now.UnixNano(), 10)
	}
	data["notificationid"] = notificationID
	if endUserID != "" {
		data["enduserid"] = endUserID
	}
	switch method {
	case "pending", "credit", "debit", "payoutconfirmation":
		if amount == "" {
			return nil, fmt.Errorf("--amount is required for %s", method)
		}
		minor, err := notifyAmount(amount)
		if err != nil {
			return nil, fmt.Errorf("--amount: %w", err)
		}
		data["amount"] = trustly.FormatAmount(minor)
		data["currency"] = currency
	}
	return data, nil
}

// signedNotification is the notification as Trustly posts it, signed with key.
func signedNotification(key *rsa.PrivateKey, method, uuid string, data map[string]any) ([]byte, error) {
	sig, err := trustly.Sign(key, method, uuid, data)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return json.Marshal(map[string]any{
		"method": method, "version": "1.1",
		"params": map[string]any{"signature": sig, "uuid": uuid, "data": data},
	})
}

// withoutURL drops the URL (which holds the notification secret) from a
// client error.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// notifyAmount reads "10300" as minor units and "103.00" as a decimal.
func notifyAmount(s string) (int64, error) {
	if strings.Contains(s, ".") {
		return trustly.ParseRequestAmount(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is neither minor units (10300) nor an amount with two decimals (103.00)", s)
	}
	return n, nil
}
