// Package commercetools is the commercetools platform adapter, the
// synchronous shape: commercetools calls the sidecar's payment API
// Extension while a Payment is created or updated and waits for update
// actions (the Trustly URL, the transaction's new state), and the sidecar
// writes Trustly's later notifications back into the Payment over the HTTP
// API with OAuth2 client credentials. It never touches a Cart or an Order:
// commercetools' own checkout reads the Payment. README.md has the setup.
package commercetools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Version is the adapter's version, reported by Describe.
const Version = "0.1.0"

// Name is the platform name: TRUSTLY_SIDECAR_ADAPTER=commercetools, and the
// extension's URL is the sidecar's public /platform/commercetools.
const Name = "commercetools"

// Defaults of the settings a shop rarely changes.
const (
	DefaultPaymentInterface = "trustly"             // paymentMethodInfo.paymentInterface of Trustly's payments
	DefaultInteractionType  = "trustly-interaction" // key of the interface interactions' custom Type
	// DefaultTimeout is commercetools' default timeoutInMs of an API
	// Extension; payment extensions may be given up to MaxTimeout
	// (https://docs.commercetools.com/api/projects/api-extensions,
	// "timeoutInMs").
	DefaultTimeout = 2 * time.Second
	MaxTimeout     = 10 * time.Second
)

// Config is the adapter's configuration, read once at start.
type Config struct {
	ProjectKey string
	// APIURL and AuthURL are the region's hosts, e.g.
	// https://api.europe-west1.gcp.commercetools.com and
	// https://auth.europe-west1.gcp.commercetools.com.
	APIURL  string
	AuthURL string
	// ClientID and ClientSecret are an API client's credentials
	// (client credentials flow); Scopes what the token asks for,
	// manage_payments:<ProjectKey> when empty.
	ClientID     string
	ClientSecret []byte
	Scopes       string
	// ExtensionAuthorization is the exact Authorization header value the
	// extension's destination sends (AuthorizationHeader.headerValue).
	ExtensionAuthorization []byte
	// Timeout is the extension's timeoutInMs: the sidecar answers within it.
	Timeout          time.Duration
	PaymentInterface string
	InteractionType  string
	// HTTPClient calls the API and the auth server; each call's context
	// carries the host's deadline.
	HTTPClient *http.Client
	// Now is the token cache's clock; time.Now when nil.
	Now func() time.Time
}

// Environment variables read by FromEnv; list them in
// TRUSTLY_SIDECAR_ADAPTER_ENV. The two secrets may be given as files with
// <NAME>_FILE.
const (
	EnvProjectKey             = "TRUSTLY_COMMERCETOOLS_PROJECT_KEY"
	EnvAPIURL                 = "TRUSTLY_COMMERCETOOLS_API_URL"
	EnvAuthURL                = "TRUSTLY_COMMERCETOOLS_AUTH_URL"
	EnvClientID               = "TRUSTLY_COMMERCETOOLS_CLIENT_ID"
	EnvClientSecret           = "TRUSTLY_COMMERCETOOLS_CLIENT_SECRET"
	EnvScopes                 = "TRUSTLY_COMMERCETOOLS_SCOPES"
	EnvExtensionAuthorization = "TRUSTLY_COMMERCETOOLS_EXTENSION_AUTHORIZATION"
	EnvTimeout                = "TRUSTLY_COMMERCETOOLS_TIMEOUT"
	EnvPaymentInterface       = "TRUSTLY_COMMERCETOOLS_PAYMENT_INTERFACE"
	EnvInteractionType        = "TRUSTLY_COMMERCETOOLS_INTERACTION_TYPE"
)

// FromEnv reads Config from the plugin's environment.
func FromEnv(getenv func(string) string) (Config, error) {
	var errs []error
	secret := func(name string) []byte {
		b, err := adapter.SecretFromEnv(getenv, name)
		errs = append(errs, err)
		return b
	}
	c := Config{
		ProjectKey: getenv(EnvProjectKey), APIURL: getenv(EnvAPIURL), AuthURL: getenv(EnvAuthURL),
		ClientID: getenv(EnvClientID), ClientSecret: secret(EnvClientSecret), Scopes: getenv(EnvScopes),
		ExtensionAuthorization: secret(EnvExtensionAuthorization),
		PaymentInterface:       getenv(EnvPaymentInterface),
		InteractionType:        getenv(EnvInteractionType),
	}
	if s := getenv(EnvTimeout); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvTimeout, err))
		}
		c.Timeout = d
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, c.validate()
}

// projectKeyRE is what commercetools allows as a project key.
var projectKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]{2,36}$`) })

func (c Config) validate() error {
	var errs []error
	if !projectKeyRE().MatchString(c.ProjectKey) {
		errs = append(errs, fmt.Errorf("%s: need the project key (2-36 of a-z 0-9 _ -), got %q", EnvProjectKey, c.ProjectKey))
	}
	for _, u := range []struct{ name, value string }{{EnvAPIURL, c.APIURL}, {EnvAuthURL, c.AuthURL}} {
		if err := checkURL(u.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
	}
	if c.ClientID == "" || len(c.ClientSecret) == 0 {
		errs = append(errs, fmt.Errorf("%s and %s are required (an API client with the manage_payments scope)", EnvClientID, EnvClientSecret))
	}
	if len(c.ExtensionAuthorization) < 16 {
		errs = append(errs, fmt.Errorf("%s: need at least 16 bytes (the extension destination's Authorization header value)", EnvExtensionAuthorization))
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("%s: the extension's timeoutInMs, at most %s, got %s", EnvTimeout, MaxTimeout, c.Timeout))
	}
	return errors.Join(errs...)
}

// checkURL accepts an https URL, or http on a loopback host (a local mock).
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("need an https URL, got %q", s)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return fmt.Errorf("need https (http only for localhost), got %q", s)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Adapter is the commercetools adapter. Its only state is the cached
// OAuth token, which a restart merely fetches again.
type Adapter struct {
	cfg   Config
	api   string // APIURL/ProjectKey, no trailing slash
	token *tokenSource
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns the adapter for cfg.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("commercetools adapter: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.PaymentInterface == "" {
		cfg.PaymentInterface = DefaultPaymentInterface
	}
	if cfg.InteractionType == "" {
		cfg.InteractionType = DefaultInteractionType
	}
	if cfg.Scopes == "" {
		cfg.Scopes = "manage_payments:" + cfg.ProjectKey
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			// A redirect is a misconfigured host; following it would send
			// the token (or the client secret) where nobody configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Adapter{cfg: cfg, api: strings.TrimRight(cfg.APIURL, "/") + "/" + cfg.ProjectKey}
	a.token = &tokenSource{
		url: strings.TrimRight(cfg.AuthURL, "/") + "/oauth/token", id: cfg.ClientID, secret: cfg.ClientSecret,
		scopes: cfg.Scopes, http: cfg.HTTPClient, now: cfg.Now,
	}
	return a, nil
}

// NewFromEnv is FromEnv then New: what a plugin's main needs.
func NewFromEnv(getenv func(string) string) (*Adapter, error) {
	cfg, err := FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("commercetools adapter: %w", err)
	}
	return New(cfg)
}

// Describe: synchronous (the API Extension, answered within its
// timeoutInMs) and asynchronous (the write-back of notifications into the
// Payment), and Public: commercetools calls from its own cloud, so the
// extension is served on the sidecar's public listener at
// /platform/commercetools.
func (a *Adapter) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{
		Name: Name, Version: Version, Sync: true, Async: true, Public: true, AnswerWithin: a.cfg.Timeout,
		Flows: []adapter.Flow{adapter.FlowPayment, adapter.FlowRefund, adapter.FlowRecurring},
	}, nil
}
