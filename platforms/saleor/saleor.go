// Package saleor is the Saleor platform adapter: the sidecar as a Saleor
// payment app. Saleor installs the app from its manifest, posts it an app
// token, calls its synchronous transaction webhooks and waits for shaped
// answers; the adapter turns those calls into payment commands and reports
// Trustly's later outcomes back with the transactionEventReport mutation.
// Formats are cited where they are decided; the README says how to install.
package saleor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Version is the adapter's version, reported by Describe and the manifest.
const Version = "0.1.0"

// Name is the platform name: TRUSTLY_SIDECAR_ADAPTER=saleor.
const Name = "saleor"

// DefaultTolerance is how old a webhook's issuedAt may be. Saleor waits at
// most 18 s for a synchronous answer, but retries an action webhook
// (TRANSACTION_*_REQUESTED) answered 5xx with the stored payload, so the
// same issuedAt, up to 5 times with a backoff from 10 s
// (saleor/webhook/transport/synchronous/transport.py
// handle_transaction_request_task: retry_backoff=10, max_retries=5: about 5
// minutes in all). Older than this is a replay; a replay inside the window
// only gets the stored result of its idempotency key.
const DefaultTolerance = 15 * time.Minute

// AnswerWithin is Saleor's wait for a synchronous webhook's answer
// (saleor/settings.py WEBHOOK_WAITING_FOR_RESPONSE_TIMEOUT; the host keeps
// its own margin below it). A command still running then is answered
// pending and finishes in the background.
const AnswerWithin = 18 * time.Second

// Environment variables read by FromEnv; list them in
// TRUSTLY_SIDECAR_ADAPTER_ENV so the sidecar passes them through.
const (
	EnvAPIURL    = "TRUSTLY_SALEOR_API_URL"    // the Saleor instance's GraphQL URL, e.g. https://shop.saleor.cloud/graphql/
	EnvPublicURL = "TRUSTLY_SALEOR_PUBLIC_URL" // the app's public base URL: the sidecar's public /platform/saleor
	EnvTokenDir  = "TRUSTLY_SALEOR_TOKEN_DIR"  // where registration keeps the app token (a persistent volume)
	EnvAppToken  = "TRUSTLY_SALEOR_APP_TOKEN"  // an app token made by hand instead (also _FILE)
	EnvAppID     = "TRUSTLY_SALEOR_APP_ID"     // the manifest's id; DefaultAppID when empty
	EnvTolerance = "TRUSTLY_SALEOR_TOLERANCE"  // replay window; DefaultTolerance when empty
	// EnvAnswerWithin is Saleor's wait for a synchronous answer when it is
	// not Saleor's default (AnswerWithin).
	EnvAnswerWithin = "TRUSTLY_SALEOR_ANSWER_WITHIN"
)

// DefaultAppID is the manifest's id when TRUSTLY_SALEOR_APP_ID is empty.
const DefaultAppID = "trustly-sidecar"

// Config is the adapter's configuration, read once at start.
type Config struct {
	// APIURL is the one Saleor instance this app serves; webhooks and
	// registrations naming another are refused, and its origin serves the
	// JWKS.
	APIURL string
	// PublicURL is the absolute URL of the adapter's public route
	// (/platform/saleor on the sidecar's public listener); the manifest's
	// URLs are built from it. The host's Request.BaseURL, when it gives
	// one, wins.
	PublicURL string
	// TokenDir keeps the app token that registration receives, one file
	// per Saleor API URL, mode 0600, so it survives restarts.
	TokenDir string
	// AppToken is a token made by hand (a local app in the dashboard); with
	// it, no registration is needed.
	AppToken  []byte
	AppID     string
	Tolerance time.Duration
	// AnswerWithin is Saleor's wait for a synchronous answer; AnswerWithin
	// (the constant, Saleor's default) when zero.
	AnswerWithin time.Duration
	// HTTPClient fetches the JWKS and calls Saleor's GraphQL API; each call's
	// context carries the deadline, so its Timeout should be zero.
	HTTPClient  *http.Client
	Now         func() time.Time
	JWKSRefetch time.Duration // DefaultJWKSRefetch when zero
	JWKSMaxAge  time.Duration // DefaultJWKSMaxAge when zero
}

// FromEnv reads Config from the plugin's environment.
func FromEnv(getenv func(string) string) (Config, error) {
	token, err := adapter.SecretFromEnv(getenv, EnvAppToken)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		APIURL: getenv(EnvAPIURL), PublicURL: strings.TrimSuffix(getenv(EnvPublicURL), "/"),
		TokenDir: getenv(EnvTokenDir), AppToken: token, AppID: getenv(EnvAppID),
	}
	for name, dst := range map[string]*time.Duration{EnvTolerance: &c.Tolerance, EnvAnswerWithin: &c.AnswerWithin} {
		if s := getenv(name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return Config{}, fmt.Errorf("%s: %w", name, err)
			}
			*dst = d
		}
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: need the Saleor GraphQL URL (http(s)://…/graphql/), got %q", EnvAPIURL, c.APIURL))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: need an absolute http(s) URL, got %q", EnvPublicURL, c.PublicURL))
		}
	}
	if c.TokenDir == "" && len(c.AppToken) == 0 {
		errs = append(errs, fmt.Errorf("set %s (registration stores the app token there) or %s", EnvTokenDir, EnvAppToken))
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative", EnvTolerance))
	}
	if c.AnswerWithin < 0 {
		errs = append(errs, fmt.Errorf("%s: must not be negative", EnvAnswerWithin))
	}
	return errors.Join(errs...)
}

// Adapter is the Saleor adapter. Its only state is caches: the JWKS, which
// it can always fetch again. The app token lives in Config.TokenDir.
type Adapter struct {
	cfg    Config
	keys   *keySet
	tokens tokenStore
	log    hclog.Logger
}

var _ adapter.Adapter = (*Adapter)(nil)

// New returns the adapter for cfg.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("saleor adapter: %w", err)
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.AnswerWithin == 0 {
		cfg.AnswerWithin = AnswerWithin
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			// Saleor never redirects its API or JWKS; following one would
			// send the app token somewhere nobody configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.JWKSRefetch == 0 {
		cfg.JWKSRefetch = DefaultJWKSRefetch
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	jwks, err := jwksURL(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("saleor adapter: %w", err)
	}
	return &Adapter{
		cfg:    cfg,
		keys:   &keySet{url: jwks, client: cfg.HTTPClient, refetch: cfg.JWKSRefetch, maxAge: cfg.JWKSMaxAge, now: cfg.Now},
		tokens: tokenStore{dir: cfg.TokenDir, fixed: string(cfg.AppToken)},
		log:    hclog.Default().Named(Name),
	}, nil
}

// NewFromEnv is FromEnv then New: what a plugin's main needs.
func NewFromEnv(getenv func(string) string) (*Adapter, error) {
	cfg, err := FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("saleor adapter: %w", err)
	}
	return New(cfg)
}

// Describe: payments, refunds and charges of a stored mandate; Saleor calls
// and waits (Sync) at most AnswerWithin, and takes later outcomes by
// transactionEventReport (Async). Public: Saleor (Saleor Cloud, another
// cluster) calls from outside the pod, so the manifest, the registration
// and the webhooks are served on the public listener too; each
// authenticates itself (see Translate). Saleor sends an action webhook
// (TRANSACTION_*_REQUESTED) answered 5xx again (saleor/webhook/transport/
// synchronous/transport.py, handle_transaction_request_task), so an error
// status is worth answering.
func (a *Adapter) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{
		Name: Name, Version: Version, Sync: true, Async: true, Public: true, AnswerWithin: a.cfg.AnswerWithin,
		Redelivery: adapter.RedeliveryOnError,
		Flows:      []adapter.Flow{adapter.FlowPayment, adapter.FlowRefund, adapter.FlowRecurring},
	}, nil
}

// route is what a request below the adapter's route is for.
type route int

const (
	routeWebhook  route = iota // a synchronous webhook (its kind is in the signed body)
	routeManifest              // GET /manifest
	routeRegister              // POST /register, Saleor's tokenTargetUrl
)

// routeOf reads the request's path. A webhook at its own path must carry
// that webhook's event; at the root (the private /v1/webhooks/saleor) the
// signed body's __typename alone says which it is.
func routeOf(req adapter.Request) (route, *webhook, error) {
	switch p := strings.TrimSuffix(req.Path, "/"); p {
	case "":
		return routeWebhook, nil, nil
	case "/manifest", "/api/manifest":
		return routeManifest, nil, nil
	case "/register", "/api/register":
		return routeRegister, nil, nil
	default:
		if w, ok := webhookByPath(p); ok {
			return routeWebhook, &w, nil
		}
		return 0, nil, fmt.Errorf("%w: no Saleor route %.100q", adapter.ErrInvalid, req.Path)
	}
}

// Translate verifies a webhook by its JWS and turns it into commands; the
// manifest and the registration make none (Answer serves them).
func (a *Adapter) Translate(ctx context.Context, req adapter.Request) ([]adapter.Command, error) {
	r, w, err := routeOf(req)
	if err != nil {
		return nil, err
	}
	switch r {
	case routeManifest:
		if req.Method != http.MethodGet {
			return nil, fmt.Errorf("%w: the manifest is read with GET", adapter.ErrInvalid)
		}
		return nil, nil
	case routeRegister:
		_, err := a.registration(req)
		return nil, err
	}
	ev, err := a.verified(ctx, req, w)
	if err != nil {
		return nil, err
	}
	p, err := planOf(ev)
	if err != nil {
		return nil, err
	}
	if p.command == nil {
		return nil, nil
	}
	return []adapter.Command{*p.command}, nil
}

// verified authenticates a webhook and reads it: the signature over the raw
// body first, then which Saleor sent it, the event's kind and its age.
func (a *Adapter) verified(ctx context.Context, req adapter.Request, w *webhook) (event, error) {
	if req.Method != http.MethodPost {
		return event{}, fmt.Errorf("%w: Saleor's webhooks are POSTed", adapter.ErrInvalid)
	}
	if err := a.keys.verify(ctx, req.Header, req.Body); err != nil {
		return event{}, err
	}
	// Saleor-Api-Url is not signed, but a webhook that names another Saleor
	// was configured for another instance: refuse it rather than act on it.
	if got := req.Header.Get("Saleor-Api-Url"); got != "" && !sameURL(got, a.cfg.APIURL) {
		return event{}, fmt.Errorf("%w: webhook from Saleor %.200q, this app serves %s", adapter.ErrUnauthenticated, got, a.cfg.APIURL)
	}
	ev, err := parseEvent(req.Body)
	if err != nil {
		return event{}, fmt.Errorf("%w: %w", adapter.ErrInvalid, err)
	}
	kind, ok := webhookByType(ev.TypeName)
	switch {
	case !ok:
		return event{}, fmt.Errorf("%w: event %.80q is not one this app subscribes to", adapter.ErrInvalid, ev.TypeName)
	case w != nil && w.TypeName != ev.TypeName:
		return event{}, fmt.Errorf("%w: event %s sent to %s", adapter.ErrInvalid, ev.TypeName, w.Path)
	}
	if h := req.Header.Get("Saleor-Event"); h != "" && !strings.EqualFold(h, kind.Event) {
		return event{}, fmt.Errorf("%w: Saleor-Event %.80q but the body is %s", adapter.ErrInvalid, h, ev.TypeName)
	}
	switch age := req.ReceivedAt.Sub(ev.IssuedAt); {
	case ev.IssuedAt.IsZero():
		return event{}, fmt.Errorf("%w: no issuedAt (is the webhook's subscription query the manifest's?)", adapter.ErrInvalid)
	case age > a.cfg.Tolerance:
		return event{}, fmt.Errorf("%w: issued %s ago, more than %s: a replay", adapter.ErrUnauthenticated, age.Round(time.Second), a.cfg.Tolerance)
	case age < -time.Minute:
		return event{}, fmt.Errorf("%w: issued %s in the future", adapter.ErrUnauthenticated, (-age).Round(time.Second))
	}
	return ev, nil
}

// sameURL compares two Saleor API URLs, ignoring a trailing slash and the
// host's case.
func sameURL(a, b string) bool {
	norm := func(s string) string {
		u, err := url.Parse(s)
		if err != nil {
			return s
		}
		u.Host = strings.ToLower(u.Host)
		u.Path = strings.TrimSuffix(u.Path, "/")
		return u.String()
	}
	return norm(a) == norm(b)
}

// Answer renders the manifest, completes a registration, or answers a
// webhook in the shape Saleor parses.
func (a *Adapter) Answer(ctx context.Context, req adapter.Request, results []adapter.Result) (adapter.Response, error) {
	r, _, err := routeOf(req)
	if err != nil {
		return adapter.Response{}, err
	}
	switch r {
	case routeManifest:
		return a.manifestResponse(req)
	case routeRegister:
		return a.register(ctx, req), nil
	}
	// Translate verified this body before the host ran anything.
	ev, err := parseEvent(req.Body)
	if err != nil {
		return adapter.Response{}, fmt.Errorf("%w: %w", adapter.ErrInvalid, err)
	}
	p, err := planOf(ev)
	if err != nil {
		return adapter.Response{}, err
	}
	out := p.answer(results)
	if r, ok := out.(retryLater); ok {
		if len(results) == 1 && results[0].OK {
			a.log.Error("the host named no order for a finished refund (a sidecar older than the adapter?): asking Saleor to send the request again",
				"key", results[0].IdempotencyKey)
		}
		return jsonResponse(http.StatusServiceUnavailable, map[string]string{"message": r.msg})
	}
	return jsonResponse(http.StatusOK, out)
}
