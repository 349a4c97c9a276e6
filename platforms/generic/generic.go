// Package generic is the reference platform adapter: a documented JSON
// webhook format signed with HMAC-SHA256, and status write-back to an HTTP
// callback of the shop's choosing. A custom shop can use it as it is; the
// adapter for a new platform starts as a copy of it (see docs/adapters.md).
// The formats are in README.md.
package generic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Version is the adapter's version, reported by Describe.
const Version = "1.0.0"

// Name is the platform name the adapter describes itself with.
const Name = "generic"

// Config is the adapter's configuration, read once at start.
type Config struct {
	WebhookSecret  []byte        // verifies the shop's webhooks
	CallbackURL    string        // where status changes are POSTed
	CallbackSecret []byte        // signs the callbacks
	Tolerance      time.Duration // replay window; DefaultTolerance when zero
	// HTTPClient sends callbacks. Its Timeout should be zero or generous:
	// each call's context carries the host's deadline.
	HTTPClient *http.Client
	// Now stamps callbacks; time.Now when nil. Tests pin it.
	Now func() time.Time
}

// Environment variables read by FromEnv.
const (
	EnvWebhookSecret  = "TRUSTLY_GENERIC_WEBHOOK_SECRET"
	EnvCallbackURL    = "TRUSTLY_GENERIC_CALLBACK_URL"
	EnvCallbackSecret = "TRUSTLY_GENERIC_CALLBACK_SECRET"
	EnvTolerance      = "TRUSTLY_GENERIC_TOLERANCE"
)

// FromEnv reads Config from the plugin's environment (the sidecar passes it
// through when it starts the adapter).
//
// The two secrets may instead be given as files, <NAME>_FILE holding a path
// (how Kubernetes mounts secrets); one trailing newline is dropped.
func FromEnv(getenv func(string) string) (Config, error) {
	webhook, err := adapter.SecretFromEnv(getenv, EnvWebhookSecret)
	if err != nil {
		return Config{}, err
	}
	callback, err := adapter.SecretFromEnv(getenv, EnvCallbackSecret)
	if err != nil {
		return Config{}, err
	}
	c := Config{WebhookSecret: webhook, CallbackURL: getenv(EnvCallbackURL), CallbackSecret: callback}
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
	if len(c.WebhookSecret) < 16 {
		errs = append(errs, fmt.Errorf("%s: need at least 16 bytes", EnvWebhookSecret))
	}
	if len(c.CallbackSecret) < 16 {
		errs = append(errs, fmt.Errorf("%s: need at least 16 bytes", EnvCallbackSecret))
	}
	if u, err := url.Parse(c.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: need an http(s) URL, got %q", EnvCallbackURL, c.CallbackURL))
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative", EnvTolerance))
	}
	return errors.Join(errs...)
}

// Adapter is the generic platform adapter.
type Adapter struct {
	cfg Config
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns the adapter for cfg.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("generic adapter: %w", err)
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			// A callback that redirects is misconfigured; following it
			// would send a signed status somewhere nobody configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Adapter{cfg: cfg}, nil
}

// Describe reports the generic adapter's capabilities: every flow, webhooks
// in and callbacks out.
func (a *Adapter) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{
		Name: Name, Version: Version, Async: true,
		Flows: []adapter.Flow{adapter.FlowPayment, adapter.FlowRefund, adapter.FlowRecurring},
	}, nil
}

// Answer is unsupported: the generic format is asynchronous only.
func (a *Adapter) Answer(context.Context, adapter.Request, []adapter.Result) (adapter.Response, error) {
	return adapter.Response{}, fmt.Errorf("%w: the generic webhook format is asynchronous", adapter.ErrUnsupported)
}

// NewFromEnv is FromEnv then New: what a plugin's main needs.
func NewFromEnv(getenv func(string) string) (*Adapter, error) {
	cfg, err := FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("generic adapter: %w", err)
	}
	return New(cfg)
}
