package sim

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Defaults of Config.
const (
	DefaultCheckoutTTL     = 30 * time.Minute
	DefaultSettlementDelay = 5 * time.Minute
	DefaultDeliveryTimeout = 10 * time.Second
	DefaultAddr            = "127.0.0.1:0"
)

// DefaultRetrySchedule is the wait after each failed delivery of a
// notification; the last entry repeats for as long as the merchant fails.
// Trustly documents only "growing intervals, for a long time"; these are
// ours.
var DefaultRetrySchedule = []time.Duration{
	1 * time.Minute, 5 * time.Minute, 15 * time.Minute, 1 * time.Hour, 4 * time.Hour,
}

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// Username and Password are the merchant API credentials the simulator
	// accepts (616 otherwise). Both are required.
	Username string
	Password string
	// MerchantPublicKey verifies the merchant's request signatures and
	// notification replies. Nil means no key was uploaded: every API call is
	// answered 639 ERROR_NO_PUBLIC_KEY, as Trustly does.
	MerchantPublicKey *rsa.PublicKey
	// Key is the simulator's own "Trustly" key pair, which signs responses,
	// errors and notifications. A 2048-bit key is generated when nil.
	Key *rsa.PrivateKey
	// Relaxed accepts plain-http NotificationURLs, for local development
	// where the merchant has no certificate. Otherwise they are 734.
	Relaxed bool
	// Clock is the source of time; nil is the wall clock, with a goroutine
	// that runs due work. With a *ManualClock nothing runs until
	// Server.Advance or Server.RunDue.
	Clock Clock
	// CheckoutTTL is how long a checkout URL can be used. Default 30 minutes.
	CheckoutTTL time.Duration
	// SettlementDelay is how long after a credit the funds reach the
	// merchant balance; refunds of unsettled funds wait for it. Default
	// 5 minutes (Trustly: days; shortened so a laptop session sees it).
	// Negative means immediately.
	SettlementDelay time.Duration
	// RetrySchedule is the wait after each failed notification delivery,
	// the last entry repeating. Default DefaultRetrySchedule.
	RetrySchedule []time.Duration
	// PublicURL is the base of the checkout links handed out, e.g.
	// "http://localhost:8090". Default: the listener's URL after Start, or
	// the Host of the API request when only Handler is used.
	PublicURL string
	// Addr is where Start listens. Default 127.0.0.1:0 (a free port).
	Addr string
	// HTTPClient delivers notifications. Default: a client with a
	// DefaultDeliveryTimeout timeout that does not follow redirects.
	HTTPClient *http.Client
	// Logger gets one structured record per call, error and delivery.
	// Default: discard. Passwords, keys and signatures are never logged.
	Logger *slog.Logger
	// Balances are the merchant's starting balances per currency, in minor
	// units. Credits add to them at settlement; refunds take from them.
	Balances map[string]int64
}

// normalize checks cfg and fills in defaults.
func (cfg Config) normalize() (Config, error) {
	if cfg.Username == "" || cfg.Password == "" {
		return cfg, errors.New("sim: Config.Username and Config.Password are required")
	}
	if cfg.Key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return cfg, fmt.Errorf("sim: generate key: %w", err)
		}
		cfg.Key = k
	}
	if n := cfg.Key.N.BitLen(); n < trustly.MinKeyBits {
		return cfg, fmt.Errorf("sim: Config.Key: %w (it has %d)", trustly.ErrKeyTooShort, n)
	}
	if cfg.MerchantPublicKey != nil && cfg.MerchantPublicKey.Equal(&cfg.Key.PublicKey) {
		// The merchant could then forge the simulator's answers, and tests
		// would pass that must fail.
		return cfg, errors.New("sim: Config.MerchantPublicKey is the simulator's own key")
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.CheckoutTTL == 0 {
		cfg.CheckoutTTL = DefaultCheckoutTTL
	}
	if cfg.CheckoutTTL < 0 {
		return cfg, fmt.Errorf("sim: Config.CheckoutTTL %v is negative", cfg.CheckoutTTL)
	}
	switch {
	case cfg.SettlementDelay == 0:
		cfg.SettlementDelay = DefaultSettlementDelay
	case cfg.SettlementDelay < 0:
		cfg.SettlementDelay = 0
	}
	if len(cfg.RetrySchedule) == 0 {
		cfg.RetrySchedule = DefaultRetrySchedule
	}
	for i, d := range cfg.RetrySchedule {
		if d < 0 {
			return cfg, fmt.Errorf("sim: Config.RetrySchedule[%d] %v is negative", i, d)
		}
	}
	cfg.RetrySchedule = append([]time.Duration(nil), cfg.RetrySchedule...)
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Errorf("sim: Config.PublicURL %q is not an absolute http(s) URL", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout: DefaultDeliveryTimeout,
			// A redirect is not the merchant's answer; Trustly does not follow it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	balances := make(map[string]int64, len(cfg.Balances))
	for c, v := range cfg.Balances {
		balances[c] = v
	}
	cfg.Balances = balances
	return cfg, nil
}
