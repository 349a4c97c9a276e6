package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds what a Client reads of an answer of the control routes.
const maxAnswer = 10 << 20

// Client is a Go client of a running simulator's notification tool (the
// /sim control routes): list an order's notifications, replay one, send a
// custom one — what Trustly's Notification tool does for its TEST
// backoffice.
type Client struct {
	base string
	http *http.Client
}

// NewClient talks to the simulator at baseURL (e.g. http://127.0.0.1:8090).
func NewClient(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sim client: %q is not an http(s) URL", baseURL)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Notifications lists the order's notifications, oldest first, with every
// delivery attempt.
func (c *Client) Notifications(ctx context.Context, orderID string) ([]Notification, error) {
	var list []Notification
	err := c.do(ctx, http.MethodGet, "/sim/orders/"+url.PathEscape(orderID)+"/notifications", nil, &list)
	return list, err
}

// Replay delivers a notification again now, byte for byte the same.
func (c *Client) Replay(ctx context.Context, notificationID string) (Attempt, error) {
	var a Attempt
	err := c.do(ctx, http.MethodPost, "/sim/notifications/"+url.PathEscape(notificationID)+"/replay", nil, &a)
	return a, err
}

// Send creates a custom notification for an existing order and delivers it
// (unless held); see Server.SendCustom.
func (c *Client) Send(ctx context.Context, orderID string, n CustomNotification) (Notification, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return Notification{}, err
	}
	var out Notification
	err = c.do(ctx, http.MethodPost, "/sim/orders/"+url.PathEscape(orderID)+"/notifications", bytes.NewReader(body), &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, c.base+path)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("unexpected answer from %s: %w", c.base+path, err)
	}
	return nil
}
