// Package woocommerce is the WooCommerce platform adapter: it verifies
// WooCommerce's order webhooks and turns refunds added in the admin into
// Trustly refunds, and it writes payment status back into the order over
// the WooCommerce REST API v3. The checkout itself (process_payment, a
// subscription renewal) runs in PHP inside WordPress: the plugin in
// wordpress-plugin/ calls the sidecar's shop API directly. README.md says
// how the pieces fit.
package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Version is the adapter's version, reported by Describe.
const Version = "0.1.0"

// Name is the platform name: the webhook route is /v1/webhooks/woocommerce.
const Name = "woocommerce"

// DefaultGatewayID is the payment method id the WordPress plugin registers.
const DefaultGatewayID = "trustly"

// Config is the adapter's configuration, read once at start.
type Config struct {
	WebhookSecret []byte // the secret of the WooCommerce webhook (Settings → Advanced → Webhooks)
	// StoreURL is the WordPress site, e.g. https://shop.example; the REST
	// API is at StoreURL/wp-json/wc/v3.
	StoreURL       string
	ConsumerKey    string // a REST API key with read/write permission
	ConsumerSecret []byte
	// QueryStringAuth sends the key and secret as consumer_key and
	// consumer_secret query parameters instead of HTTP Basic auth. The
	// REST API docs ("Authentication over HTTPS") offer it for servers
	// that do not pass the Authorization header to PHP; it is off by
	// default because the secret then lands in access logs.
	QueryStringAuth bool
	// GatewayID is the payment method of the orders this adapter acts on;
	// DefaultGatewayID when empty.
	GatewayID string
	// WebhookRefunds turns refunds added in the WooCommerce admin into
	// Trustly refunds. Turn it off when the plugin's process_refund does
	// it instead (the plugin's "refunds" setting): exactly one of the two.
	WebhookRefunds bool
	// HTTPClient calls the REST API. Each call's context carries the
	// host's deadline.
	HTTPClient *http.Client
}

// Environment variables read by FromEnv. The secrets may be given as files
// with <NAME>_FILE.
const (
	EnvWebhookSecret   = "TRUSTLY_WOOCOMMERCE_WEBHOOK_SECRET"
	EnvStoreURL        = "TRUSTLY_WOOCOMMERCE_URL"
	EnvConsumerKey     = "TRUSTLY_WOOCOMMERCE_CONSUMER_KEY"
	EnvConsumerSecret  = "TRUSTLY_WOOCOMMERCE_CONSUMER_SECRET"
	EnvQueryStringAuth = "TRUSTLY_WOOCOMMERCE_QUERY_STRING_AUTH"
	EnvGatewayID       = "TRUSTLY_WOOCOMMERCE_GATEWAY_ID"
	EnvWebhookRefunds  = "TRUSTLY_WOOCOMMERCE_WEBHOOK_REFUNDS"
)

// FromEnv reads Config from the plugin's environment.
func FromEnv(getenv func(string) string) (Config, error) {
	var errs []error
	secret := func(name string) []byte {
		b, err := adapter.SecretFromEnv(getenv, name)
		errs = append(errs, err)
		return b
	}
	flag := func(name string, def bool) bool {
		switch strings.ToLower(getenv(name)) {
		case "":
			return def
		case "1", "true", "yes", "on":
			return true
		case "0", "false", "no", "off":
			return false
		}
		errs = append(errs, fmt.Errorf("%s: want true or false, got %q", name, getenv(name)))
		return def
	}
	c := Config{
		WebhookSecret:   secret(EnvWebhookSecret),
		StoreURL:        getenv(EnvStoreURL),
		ConsumerKey:     string(secret(EnvConsumerKey)),
		ConsumerSecret:  secret(EnvConsumerSecret),
		QueryStringAuth: flag(EnvQueryStringAuth, false),
		GatewayID:       getenv(EnvGatewayID),
		WebhookRefunds:  flag(EnvWebhookRefunds, true),
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	if len(c.WebhookSecret) < 16 {
		errs = append(errs, fmt.Errorf("%s: need at least 16 bytes", EnvWebhookSecret))
	}
	if c.ConsumerKey == "" || len(c.ConsumerSecret) == 0 {
		errs = append(errs, fmt.Errorf("%s and %s are required (WooCommerce → Settings → Advanced → REST API, read/write)", EnvConsumerKey, EnvConsumerSecret))
	}
	u, err := url.Parse(c.StoreURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		errs = append(errs, fmt.Errorf("%s: need the shop's https URL, got %q", EnvStoreURL, c.StoreURL))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		// Over plain HTTP the REST API docs require OAuth 1.0a, which this
		// adapter does not speak; and a key over HTTP is readable by all.
		errs = append(errs, fmt.Errorf("%s: WooCommerce takes key/secret auth over https only (http is allowed for localhost)", EnvStoreURL))
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Adapter is the WooCommerce adapter.
type Adapter struct {
	cfg  Config
	base string // StoreURL + /wp-json/wc/v3, no trailing slash
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns the adapter for cfg.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("woocommerce adapter: %w", err)
	}
	if cfg.GatewayID == "" {
		cfg.GatewayID = DefaultGatewayID
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			// A redirect of a REST call is a misconfigured URL (http → https
			// would turn a PUT into a GET); fail loudly instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Adapter{cfg: cfg, base: strings.TrimRight(cfg.StoreURL, "/") + "/wp-json/wc/v3"}, nil
}

// NewFromEnv is FromEnv then New: what a plugin's main needs.
func NewFromEnv(getenv func(string) string) (*Adapter, error) {
	cfg, err := FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("woocommerce adapter: %w", err)
	}
	return New(cfg)
}

// Describe: webhooks in, REST out. Payments and renewals start in the PHP
// plugin, which calls the sidecar's shop API; through this adapter flow
// refunds and every status change.
func (a *Adapter) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{
		Name: Name, Version: Version, Async: true,
		Flows: []adapter.Flow{adapter.FlowPayment, adapter.FlowRefund, adapter.FlowRecurring},
		// WooCommerce never resends a failed delivery and disables the
		// webhook after more than 5 in a row (class-wc-webhook.php,
		// failed_delivery).
		Redelivery: adapter.RedeliveryNever,
	}, nil
}

// timeout is how long a REST call may take when the host gave no deadline.
const timeout = 30 * time.Second
