// Package vendure is the Vendure platform adapter. Vendure itself talks to
// the sidecar's shop API (the Trustly plugin in plugin/ starts payments and
// refunds there); this adapter carries the sidecar's status changes back to
// that plugin's controller, signed, so the plugin moves Vendure's payments,
// refunds and orders through Vendure's own services. The formats are in
// README.md.
package vendure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Version is the adapter's version, reported by Describe.
const Version = "0.1.0"

// Name is the platform name: TRUSTLY_SIDECAR_ADAPTER=vendure.
const Name = "vendure"

// Config is the adapter's configuration, read once at start.
type Config struct {
	// CallbackURL is the Vendure plugin's controller, e.g.
	// https://shop.example/trustly/status.
	CallbackURL string
	// Secret is shared with the Vendure plugin; it signs both directions.
	Secret    []byte
	Tolerance time.Duration // replay window for pings; DefaultTolerance when zero
	// HTTPClient sends callbacks; each call's context carries the host's
	// deadline, so its Timeout should be zero.
	HTTPClient *http.Client
	// Now stamps callbacks; time.Now when nil.
	Now func() time.Time
}

// Environment variables read by FromEnv; list them in
// TRUSTLY_SIDECAR_ADAPTER_ENV so the sidecar passes them through.
const (
	EnvCallbackURL = "TRUSTLY_VENDURE_CALLBACK_URL"
	EnvSecret      = "TRUSTLY_VENDURE_SECRET"
	EnvTolerance   = "TRUSTLY_VENDURE_TOLERANCE"
)

// FromEnv reads Config from the plugin's environment. The secret may be
// given as a file instead, TRUSTLY_VENDURE_SECRET_FILE (how Kubernetes
// mounts secrets); one trailing newline is dropped.
func FromEnv(getenv func(string) string) (Config, error) {
	secret, err := adapter.SecretFromEnv(getenv, EnvSecret)
	if err != nil {
		return Config{}, err
	}
	c := Config{CallbackURL: getenv(EnvCallbackURL), Secret: secret}
	if s := getenv(EnvTolerance); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvTolerance, err)
		}
		c.Tolerance = d
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	if len(c.Secret) < 16 {
		errs = append(errs, fmt.Errorf("%s: need at least 16 bytes", EnvSecret))
	}
	if u, err := url.Parse(c.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: need an http(s) URL, got %q", EnvCallbackURL, c.CallbackURL))
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative", EnvTolerance))
	}
	return errors.Join(errs...)
}

// Adapter is the Vendure adapter.
type Adapter struct {
	cfg Config
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns the adapter for cfg.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("vendure adapter: %w", err)
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			// A controller that redirects is misconfigured; following
			// would send a signed status where nobody configured it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Adapter{cfg: cfg}, nil
}

// NewFromEnv is FromEnv then New: what a plugin's main needs.
func NewFromEnv(getenv func(string) string) (*Adapter, error) {
	cfg, err := FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("vendure adapter: %w", err)
	}
	return New(cfg)
}

// Describe: payments and refunds, asynchronous. Not recurring: Vendure has
// no hook for a renewal (no subscriptions in core), so there is nothing to
// translate into a mandate or a charge.
func (a *Adapter) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{
		Name: Name, Version: Version, Async: true,
		Flows: []adapter.Flow{adapter.FlowPayment, adapter.FlowRefund},
	}, nil
}

// Answer is unsupported: Vendure never waits on the sidecar's webhook route.
func (a *Adapter) Answer(context.Context, adapter.Request, []adapter.Result) (adapter.Response, error) {
	return adapter.Response{}, fmt.Errorf("%w: the Vendure plugin calls the shop API directly", adapter.ErrUnsupported)
}

// Webhook is what the Vendure plugin may POST to the sidecar's webhook
// route. Payments and refunds go through the shop API, which answers at
// once with the Trustly URL or the refund; the only webhook is a ping, which
// the plugin sends at start to prove it shares the secret with the sidecar.
type Webhook struct {
	Event string `json:"event"`
	ID    string `json:"id"`
}

// Translate verifies the plugin's signature and accepts a ping; anything
// else is ErrInvalid.
func (a *Adapter) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	if err := Verify(req.Header, a.cfg.Secret, DirectionWebhook, req.Body, req.ReceivedAt, a.cfg.Tolerance); err != nil {
		return nil, err
	}
	var w Webhook
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: webhook body: %w", adapter.ErrInvalid, err)
	}
	if w.Event != "ping" {
		return nil, fmt.Errorf("%w: unknown event %q (payments and refunds go through the shop API)", adapter.ErrInvalid, w.Event)
	}
	return nil, nil
}
