package main

import (
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// envPrefix starts every variable. TRUSTLY_SIDECAR_ rather than TRUSTLY_: the
// shorter one collides with names the test harness (TRUSTLY_TEST_REDIS_ADDR)
// and other Trustly tooling use, and a typo'd variable of another program
// must never look like ours.
const envPrefix = "TRUSTLY_SIDECAR"

// notificationPath is where Trustly posts notifications; the secret segment
// makes the NotificationURL hard to guess (Trustly's advice).
const notificationPath = "/trustly/notifications/"

// redisModeEmbedded runs an in-process store (core/store.NewEmbedded): no
// Redis to install, state lost on exit. For `make run` and demos; refused
// with LIVE.
const redisModeEmbedded = "embedded"

// Config is every setting of `serve`, read from the environment. Each field
// is one variable, TRUSTLY_SIDECAR_ + its envconfig tag. A field tagged
// secret has a companion _FILE variable naming a file that holds the value
// (Kubernetes secrets mounted as files); secrets are never printed or logged.
//
// An empty variable counts as unset: getenv cannot tell them apart.
type Config struct {
	Environment          string `envconfig:"ENVIRONMENT" desc:"Trustly environment: TEST, LIVE or SIM (a simulator, e.g. trustly-sidecar sim). Required: choosing LIVE must be deliberate"`
	TrustlyURL           string `envconfig:"TRUSTLY_URL" desc:"Trustly API URL. Default by environment: TEST https://test.trustly.com/api/1, LIVE https://api.trustly.com/1; required for SIM (the simulator's API URL)"`
	TrustlyPublicKeyFile string `envconfig:"TRUSTLY_PUBLIC_KEY_FILE" desc:"PEM file with Trustly's public key, which verifies answers and notifications. Default: the key Trustly publishes for TEST or LIVE; required for SIM (the simulator's trustly_sim_public.pem)"`

	TrustlyUsername        string `envconfig:"TRUSTLY_USERNAME" desc:"Trustly API username (required)"`
	TrustlyPassword        string `envconfig:"TRUSTLY_PASSWORD" secret:"true" desc:"Trustly API password (required)"`
	TrustlyPasswordFile    string `envconfig:"TRUSTLY_PASSWORD_FILE" desc:"file holding the Trustly API password, instead of TRUSTLY_SIDECAR_TRUSTLY_PASSWORD"`
	MerchantPrivateKey     string `envconfig:"MERCHANT_PRIVATE_KEY" secret:"true" desc:"the merchant's RSA private key as PEM; signs API calls and notification replies (required; create one with trustly-sidecar keygen)"`
	MerchantPrivateKeyFile string `envconfig:"MERCHANT_PRIVATE_KEY_FILE" desc:"PEM file holding the merchant's RSA private key, instead of TRUSTLY_SIDECAR_MERCHANT_PRIVATE_KEY"`

	PublicBaseURL          string `envconfig:"PUBLIC_BASE_URL" desc:"URL at which Trustly and shoppers reach the public listener, e.g. https://pay.example.com; the NotificationURL is this + /trustly/notifications/{secret}. https for TEST and LIVE (Trustly refuses http with error 734), http allowed for SIM (required)"`
	NotificationSecret     string `envconfig:"NOTIFICATION_SECRET" secret:"true" desc:"secret path segment of the NotificationURL: at least 16 of A-Z a-z 0-9 - _ (e.g. openssl rand -hex 24). Keep it stable: mandates and retries use the URL for years (required)"`
	NotificationSecretFile string `envconfig:"NOTIFICATION_SECRET_FILE" desc:"file holding the notification path secret, instead of TRUSTLY_SIDECAR_NOTIFICATION_SECRET"`

	PublicAddr           string        `envconfig:"PUBLIC_ADDR" default:":8080" desc:"HOST:PORT of the public listener: Trustly notifications, pay-link pages, /healthz"`
	PrivateAddr          string        `envconfig:"PRIVATE_ADDR" default:"127.0.0.1:8081" desc:"HOST:PORT of the private listener: the shop API /v1, /readyz, /metrics. Beyond localhost it requires TRUSTLY_SIDECAR_SHOP_API_TOKEN"`
	ShopAPIToken         string        `envconfig:"SHOP_API_TOKEN" secret:"true" desc:"bearer token the shop sends on the private listener (Authorization: Bearer ...), at least 16 characters; required when the private listener is not bound to localhost, enforced whenever set. /readyz stays open for probes"`
	ShopAPITokenFile     string        `envconfig:"SHOP_API_TOKEN_FILE" desc:"file holding the shop API bearer token, instead of TRUSTLY_SIDECAR_SHOP_API_TOKEN"`
	MaxNotificationBytes int64         `envconfig:"MAX_NOTIFICATION_BYTES" default:"65536" desc:"largest notification body accepted; larger ones are answered 413 (Trustly's are a few KiB)"`
	MaxRequestBytes      int64         `envconfig:"MAX_REQUEST_BYTES" default:"1048576" desc:"largest shop API request body accepted; larger ones are answered 413"`
	ReadHeaderTimeout    time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"5s" desc:"time to read a request's headers (both listeners)"`
	ReadTimeout          time.Duration `envconfig:"READ_TIMEOUT" default:"15s" desc:"time to read a whole request (both listeners)"`
	WriteTimeout         time.Duration `envconfig:"WRITE_TIMEOUT" default:"60s" desc:"time from the end of the request headers to the end of the answer; must cover a Trustly call (both listeners)"`
	IdleTimeout          time.Duration `envconfig:"IDLE_TIMEOUT" default:"120s" desc:"how long an idle keep-alive connection stays open (both listeners)"`
	ShutdownTimeout      time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"25s" desc:"on SIGTERM, how long requests in flight (notifications above all) may take to finish; keep it below Kubernetes' terminationGracePeriodSeconds (30s)"`
	EngineTick           time.Duration `envconfig:"ENGINE_TICK" default:"1m" desc:"how often the engine reconciles open orders and (at most every 15 minutes) refreshes the Trustly balance"`
	Adapter              string        `envconfig:"ADAPTER" desc:"the shop platform adapter that receives status changes: empty for none (changes wait in the outbox), generic for the built-in generic adapter (run as a plugin process of this binary), or the absolute path of an adapter executable"`
	AdapterEnv           []string      `envconfig:"ADAPTER_ENV" desc:"comma-separated names of environment variables passed through to the adapter plugin, e.g. TRUSTLY_GENERIC_CALLBACK_URL,TRUSTLY_GENERIC_CALLBACK_SECRET; the plugin gets nothing else of the sidecar's environment (never the TRUSTLY_SIDECAR_ secrets)"`
	ShopSuccessURL       string        `envconfig:"SHOP_SUCCESS_URL" desc:"platform webhooks: the http(s) URL a shopper returns to after paying, when the platform's command does not carry one"`
	ShopFailURL          string        `envconfig:"SHOP_FAIL_URL" desc:"platform webhooks: the http(s) URL a shopper returns to after a cancelled or failed payment"`
	ShopLocale           string        `envconfig:"SHOP_LOCALE" desc:"platform webhooks: the Trustly checkout's locale, e.g. sv_SE"`
	ShopCountry          string        `envconfig:"SHOP_COUNTRY" desc:"platform webhooks: the shopper's country (ISO 3166-1 alpha-2, e.g. SE) when the platform sends none"`
	ShopShopperStatement string        `envconfig:"SHOP_SHOPPER_STATEMENT" desc:"platform webhooks: the text on the shopper's bank statement for payments and charges, e.g. the shop's name"`
	LogLevel             string        `envconfig:"LOG_LEVEL" default:"info" desc:"log level: debug, info, warn or error"`
	LogFormat            string        `envconfig:"LOG_FORMAT" default:"json" desc:"log format on stderr: json or text"`

	RedisMode                 string        `envconfig:"REDIS_MODE" default:"single" desc:"how Redis is reached: single, sentinel, cluster, or embedded (in-process, state lost on exit: for trying it out; refused with LIVE)"`
	RedisAddrs                []string      `envconfig:"REDIS_ADDRS" default:"127.0.0.1:6379" desc:"comma-separated HOST:PORT list: the server (single), the Sentinels (sentinel) or any Cluster nodes (cluster)"`
	RedisMasterName           string        `envconfig:"REDIS_MASTER_NAME" desc:"Sentinel master name (sentinel mode only)"`
	RedisUsername             string        `envconfig:"REDIS_USERNAME" desc:"Redis ACL username"`
	RedisPassword             string        `envconfig:"REDIS_PASSWORD" secret:"true" desc:"Redis password"`
	RedisPasswordFile         string        `envconfig:"REDIS_PASSWORD_FILE" desc:"file holding the Redis password, instead of TRUSTLY_SIDECAR_REDIS_PASSWORD"`
	RedisSentinelUsername     string        `envconfig:"REDIS_SENTINEL_USERNAME" desc:"Sentinel ACL username (sentinel mode)"`
	RedisSentinelPassword     string        `envconfig:"REDIS_SENTINEL_PASSWORD" secret:"true" desc:"Sentinel password (sentinel mode)"`
	RedisSentinelPasswordFile string        `envconfig:"REDIS_SENTINEL_PASSWORD_FILE" desc:"file holding the Sentinel password, instead of TRUSTLY_SIDECAR_REDIS_SENTINEL_PASSWORD"`
	RedisDB                   int           `envconfig:"REDIS_DB" default:"0" desc:"Redis database number (single and sentinel; a Cluster has only 0)"`
	RedisTLS                  bool          `envconfig:"REDIS_TLS" default:"false" desc:"connect to Redis over TLS, verifying the server with the system's CAs"`
	RedisPrefix               string        `envconfig:"REDIS_PREFIX" default:"trustly" desc:"prefix of every Redis key, so several sidecars can share one Redis; no { or }"`
	RedisDialTimeout          time.Duration `envconfig:"REDIS_DIAL_TIMEOUT" default:"5s" desc:"time to connect to Redis"`

	// Pay links and their delivery (paylink_config.go checks them).
	PayLinkTTL       time.Duration `envconfig:"PAYLINK_TTL" default:"168h" desc:"how long a pay link stays usable unless the request gives ttlSeconds (at most 2160h)"`
	SMTPAddr         string        `envconfig:"SMTP_ADDR" desc:"HOST:PORT of the SMTP server that e-mails pay links (submission, usually port 587); empty: no e-mail"`
	SMTPFrom         string        `envconfig:"SMTP_FROM" desc:"sender address of pay-link e-mails, e.g. Shop <pay@shop.example> (required with SMTP_ADDR)"`
	SMTPUsername     string        `envconfig:"SMTP_USERNAME" desc:"SMTP AUTH PLAIN username; empty: no authentication"`
	SMTPPassword     string        `envconfig:"SMTP_PASSWORD" secret:"true" desc:"SMTP AUTH PLAIN password"`
	SMTPPasswordFile string        `envconfig:"SMTP_PASSWORD_FILE" desc:"file holding the SMTP password, instead of TRUSTLY_SIDECAR_SMTP_PASSWORD"`
	SMTPStartTLS     bool          `envconfig:"SMTP_STARTTLS" default:"true" desc:"require STARTTLS before authenticating and sending; false only for a relay on the same host"`
	SMTPCAFile       string        `envconfig:"SMTP_CA_FILE" desc:"PEM file of the CA that signed the SMTP server's certificate; empty: the system's CAs"`
	SMSGateway       string        `envconfig:"SMS_GATEWAY" desc:"SMS gateway for pay links: empty for none, twilio (Twilio's Messages API) or json (POST {to,from,text} to SMS_URL)"`
	SMSURL           string        `envconfig:"SMS_URL" desc:"the gateway's URL: twilio's API base (default https://api.twilio.com) or the json endpoint (required for json)"`
	SMSUsername      string        `envconfig:"SMS_USERNAME" desc:"twilio: the Account SID (required for twilio)"`
	SMSPassword      string        `envconfig:"SMS_PASSWORD" secret:"true" desc:"twilio: the Auth Token; json: a bearer token sent as Authorization (optional)"`
	SMSPasswordFile  string        `envconfig:"SMS_PASSWORD_FILE" desc:"file holding the SMS gateway password, instead of TRUSTLY_SIDECAR_SMS_PASSWORD"`
	SMSFrom          string        `envconfig:"SMS_FROM" desc:"sender of pay-link SMS: an E.164 number or an alphanumeric sender id (required with SMS_GATEWAY)"`

	// Resolved by loadConfig; envconfig skips unexported fields.
	env             trustly.Environment
	trustlyURL      string
	trustlyKey      *rsa.PublicKey
	merchantKey     *rsa.PrivateKey
	notificationURL string
	redis           store.RedisConfig
	logLevel        slog.Level
}

// variable is one environment variable of Config, as envconfig names it.
type variable struct {
	key   string // full name, prefix included
	tags  reflect.StructTag
	field reflect.Value // settable, inside the Config it was gathered from
}

func (v variable) desc() string     { return v.tags.Get("desc") }
func (v variable) def() string      { return v.tags.Get("default") }
func (v variable) secret() bool     { return v.tags.Get("secret") == "true" }
func (v variable) fileKey() string  { return v.key + "_FILE" }
func (v variable) typeName() string { return typeName(v.field.Type()) }

// variables lists c's variables in declaration order. envconfig does the
// naming (prefix, tags, nesting) through its usage template, which is its
// public way of describing a specification; the values are read here
// rather than by envconfig.Process, because Process reads only the process
// environment and stops at the first bad value, and run must take getenv
// from its caller and report every problem at once.
func (c *Config) variables() []variable {
	var vars []variable
	collect := func(key string, tags reflect.StructTag, field reflect.Value) string {
		vars = append(vars, variable{key: key, tags: tags, field: field})
		return ""
	}
	tmpl := template.Must(template.New("vars").Funcs(template.FuncMap{"collect": collect}).
		Parse(`{{range .}}{{collect .Key .Tags .Field}}{{end}}`))
	if err := envconfig.Usaget(envPrefix, c, io.Discard, tmpl); err != nil {
		panic("config: envconfig cannot describe Config: " + err.Error()) // a programming error
	}
	return vars
}

// setting is one variable with what the environment says about it.
type setting struct {
	variable
	raw    string // as found in the environment; "" when unset
	isSet  bool
	byFile bool // the secret came from the _FILE variable
}

// configError lists every problem found in the configuration.
type configError struct{ problems []error }

func (e *configError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problem", len(e.problems))
	if len(e.problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range e.problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *configError) Unwrap() []error { return e.problems }

// loadConfig reads and checks the configuration. On failure it still returns
// what it read (for the config command) and a *configError listing every
// problem.
func loadConfig(getenv func(string) string) (*Config, []setting, error) {
	c := &Config{}
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }

	vars := c.variables()
	files := make(map[string]bool) // _FILE companions, handled with their secret
	for _, v := range vars {
		if v.secret() {
			files[v.fileKey()] = true
		}
	}
	var settings []setting
	for _, v := range vars {
		s := setting{variable: v, raw: getenv(v.key)}
		s.isSet = s.raw != ""
		value := s.raw
		if v.secret() {
			if path := getenv(v.fileKey()); path != "" {
				if s.isSet {
					add("%s and %s are both set; set one", v.key, v.fileKey())
				}
				b, err := os.ReadFile(path)
				if err != nil {
					// The path is not secret; the error names it.
					add("%s: %w", v.fileKey(), err)
				}
				// Mounted secrets often end in a newline nobody meant.
				value, s.isSet, s.byFile = strings.TrimRight(string(b), "\r\n"), true, true
			}
		}
		if !s.isSet && !files[v.key] {
			value = v.def()
		}
		if value != "" {
			if err := setField(v.field, value); err != nil {
				shown := strconv.Quote(value)
				if v.secret() {
					shown = "(secret)"
				}
				add("%s: %s is not a valid %s: %w", v.key, shown, v.typeName(), err)
			}
		}
		settings = append(settings, s)
	}
	problems = append(problems, c.resolve()...)
	if len(problems) > 0 {
		return c, settings, &configError{problems: problems}
	}
	return c, settings, nil
}

func key(name string) string { return envPrefix + "_" + name }

// resolve checks the values together and fills in the derived settings.
func (c *Config) resolve() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }

	// Trustly: environment, endpoint, keys, credentials.
	if c.Environment == "" {
		add("%s is required: TEST, LIVE or SIM", key("ENVIRONMENT"))
	} else if env, err := trustly.ParseEnvironment(c.Environment); err != nil {
		add("%s: unknown environment %q (want TEST, LIVE or SIM)", key("ENVIRONMENT"), c.Environment)
	} else {
		c.env = env
	}
	c.trustlyURL = c.TrustlyURL
	if c.trustlyURL == "" {
		c.trustlyURL = c.env.URL()
	}
	switch {
	case c.trustlyURL == "" && c.env == trustly.Sim:
		add("%s is required for SIM: the simulator's API URL, e.g. http://127.0.0.1:8090/api/1", key("TRUSTLY_URL"))
	case c.trustlyURL != "":
		if err := checkURL(c.trustlyURL, c.env == trustly.Live); err != nil {
			add("%s: %w", key("TRUSTLY_URL"), err)
		}
	}
	if c.TrustlyPublicKeyFile != "" {
		if b, err := os.ReadFile(c.TrustlyPublicKeyFile); err != nil {
			add("%s: %w", key("TRUSTLY_PUBLIC_KEY_FILE"), err)
		} else if c.trustlyKey, err = trustly.ParsePublicKey(b); err != nil {
			add("%s %s: %w", key("TRUSTLY_PUBLIC_KEY_FILE"), c.TrustlyPublicKeyFile, err)
		}
	} else if c.env == trustly.Sim {
		add("%s is required for SIM: the simulator's public key (trustly_sim_public.pem in its --keys-dir)", key("TRUSTLY_PUBLIC_KEY_FILE"))
	} else {
		c.trustlyKey = c.env.PublicKey()
	}
	if c.TrustlyUsername == "" {
		add("%s is required", key("TRUSTLY_USERNAME"))
	}
	if c.TrustlyPassword == "" {
		add("%s (or %s) is required", key("TRUSTLY_PASSWORD"), key("TRUSTLY_PASSWORD_FILE"))
	}
	if c.MerchantPrivateKey == "" {
		add("%s (or %s) is required: create a key pair with 'trustly-sidecar keygen'", key("MERCHANT_PRIVATE_KEY"), key("MERCHANT_PRIVATE_KEY_FILE"))
	} else if k, err := trustly.ParsePrivateKey([]byte(c.MerchantPrivateKey)); err != nil {
		add("%s: %w", key("MERCHANT_PRIVATE_KEY"), err)
	} else {
		c.merchantKey = k
	}
	if c.merchantKey != nil && c.trustlyKey != nil && c.trustlyKey.Equal(&c.merchantKey.PublicKey) {
		add("%s is the merchant's own public key; it must be Trustly's", key("TRUSTLY_PUBLIC_KEY_FILE"))
	}

	// The NotificationURL.
	switch {
	case c.NotificationSecret == "":
		add("%s (or %s) is required: e.g. the output of 'openssl rand -hex 24'", key("NOTIFICATION_SECRET"), key("NOTIFICATION_SECRET_FILE"))
	case len(c.NotificationSecret) < minSecretLen || strings.Trim(c.NotificationSecret, urlSafe) != "":
		add("%s must be at least %d characters of A-Z a-z 0-9 - _ (e.g. 'openssl rand -hex 24')", key("NOTIFICATION_SECRET"), minSecretLen)
	}
	if c.PublicBaseURL == "" {
		add("%s is required: the https URL Trustly reaches this sidecar at", key("PUBLIC_BASE_URL"))
	} else if err := checkBaseURL(c.PublicBaseURL, c.env); err != nil {
		add("%s: %w", key("PUBLIC_BASE_URL"), err)
	} else {
		c.notificationURL = strings.TrimRight(c.PublicBaseURL, "/") + notificationPath + c.NotificationSecret
	}

	// Listeners.
	pubErr := checkAddr(c.PublicAddr)
	if pubErr != nil {
		add("%s: %w", key("PUBLIC_ADDR"), pubErr)
	}
	privErr := checkAddr(c.PrivateAddr)
	if privErr != nil {
		add("%s: %w", key("PRIVATE_ADDR"), privErr)
	}
	if pubErr == nil && privErr == nil && c.PublicAddr == c.PrivateAddr && !strings.HasSuffix(c.PublicAddr, ":0") {
		add("%s and %s are the same address %q; the listeners need one each", key("PUBLIC_ADDR"), key("PRIVATE_ADDR"), c.PublicAddr)
	}
	if privErr == nil && !loopback(c.PrivateAddr) && c.ShopAPIToken == "" {
		add("%s %q is reachable beyond localhost, so %s (or %s) is required", key("PRIVATE_ADDR"), c.PrivateAddr, key("SHOP_API_TOKEN"), key("SHOP_API_TOKEN_FILE"))
	}
	if c.ShopAPIToken != "" && len(c.ShopAPIToken) < minSecretLen {
		add("%s must be at least %d characters", key("SHOP_API_TOKEN"), minSecretLen)
	}
	for _, p := range []struct {
		name string
		n    int64
	}{
		{"MAX_NOTIFICATION_BYTES", c.MaxNotificationBytes},
		{"MAX_REQUEST_BYTES", c.MaxRequestBytes},
		{"READ_HEADER_TIMEOUT", int64(c.ReadHeaderTimeout)},
		{"READ_TIMEOUT", int64(c.ReadTimeout)},
		{"WRITE_TIMEOUT", int64(c.WriteTimeout)},
		{"IDLE_TIMEOUT", int64(c.IdleTimeout)},
		{"SHUTDOWN_TIMEOUT", int64(c.ShutdownTimeout)},
		{"ENGINE_TICK", int64(c.EngineTick)},
		{"REDIS_DIAL_TIMEOUT", int64(c.RedisDialTimeout)},
	} {
		if p.n <= 0 {
			add("%s must be positive", key(p.name))
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(c.LogLevel)); err != nil {
		add("%s: %q is not a level (want debug, info, warn or error)", key("LOG_LEVEL"), c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("%s: %q is not a format (want json or text)", key("LOG_FORMAT"), c.LogFormat)
	}

	problems = append(problems, c.checkAdapter()...)
	problems = append(problems, c.checkShopDefaults()...)
	problems = append(problems, c.checkPayLinks()...)

	// Whatever the checks above missed, the client's own checks catch.
	if len(problems) == 0 {
		if _, err := trustly.NewClient(c.trustlyClientConfig()); err != nil {
			add("%w", err)
		}
	}

	// Redis.
	if _, err := store.NewKeys(c.RedisPrefix); err != nil {
		add("%s: %w", key("REDIS_PREFIX"), err)
	}
	if c.RedisMode == redisModeEmbedded {
		if c.env == trustly.Live {
			add("%s=embedded keeps payments in memory only; LIVE needs a real Redis", key("REDIS_MODE"))
		}
		return problems
	}
	c.redis = store.RedisConfig{
		Mode:             store.Mode(c.RedisMode),
		Addrs:            c.RedisAddrs,
		MasterName:       c.RedisMasterName,
		Username:         c.RedisUsername,
		Password:         c.RedisPassword,
		SentinelUsername: c.RedisSentinelUsername,
		SentinelPassword: c.RedisSentinelPassword,
		DB:               c.RedisDB,
		DialTimeout:      c.RedisDialTimeout,
	}
	if c.RedisTLS {
		c.redis.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if err := c.redis.Validate(); err != nil {
		for _, e := range unjoin(err) {
			add("Redis (%s...): %w", key("REDIS_"), e)
		}
	}
	for _, a := range c.RedisAddrs {
		if err := checkAddr(a); err != nil {
			add("%s: %w", key("REDIS_ADDRS"), err)
		}
	}
	return problems
}

// envNameRe is a portable environment variable name.
var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkAdapter checks the adapter: a built-in name or an executable file,
// and the names of the variables passed to it.
func (c *Config) checkAdapter() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	switch {
	case c.Adapter == "":
		if len(c.AdapterEnv) > 0 {
			add("%s is set but %s is not: there is no adapter to pass the variables to", key("ADAPTER_ENV"), key("ADAPTER"))
		}
	case slices.Contains(pluginhost.BuiltinNames(), c.Adapter):
	case !filepath.IsAbs(c.Adapter):
		add("%s: %q is neither a built-in adapter (%s) nor an absolute path to an adapter executable",
			key("ADAPTER"), c.Adapter, strings.Join(pluginhost.BuiltinNames(), ", "))
	default:
		fi, err := os.Stat(c.Adapter)
		switch {
		case err != nil:
			add("%s: %w", key("ADAPTER"), err)
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			add("%s: %s is not an executable file", key("ADAPTER"), c.Adapter)
		}
	}
	for _, n := range c.AdapterEnv {
		switch {
		case !envNameRe.MatchString(n):
			add("%s: %q is not an environment variable name", key("ADAPTER_ENV"), n)
		case strings.HasPrefix(n, envPrefix+"_"):
			// The sidecar's own settings hold its secrets.
			add("%s: %s is the sidecar's own setting; it is never passed to an adapter", key("ADAPTER_ENV"), n)
		}
	}
	return problems
}

// adapterSource is where the configured adapter's process comes from; the
// plugin's environment is the ADAPTER_ENV variables, read through getenv.
func (c *Config) adapterSource(getenv func(string) string) (pluginhost.Source, error) {
	var env []string
	for _, n := range c.AdapterEnv {
		if v := getenv(n); v != "" {
			env = append(env, n+"="+v)
		}
	}
	if slices.Contains(pluginhost.BuiltinNames(), c.Adapter) {
		return pluginhost.Builtin(c.Adapter, env...)
	}
	name := strings.TrimPrefix(filepath.Base(c.Adapter), "trustly-adapter-")
	return pluginhost.External(name, c.Adapter, env...), nil
}

// minSecretLen keeps path secrets and tokens out of guessing range.
const minSecretLen = 16

const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func checkURL(raw string, httpsOnly bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if httpsOnly && u.Scheme != "https" {
		return fmt.Errorf("%q: LIVE requires https", raw)
	}
	if u.User != nil {
		// URLs end up in logs and error messages.
		return errors.New("the URL must not carry user:password")
	}
	return nil
}

func checkBaseURL(raw string, env trustly.Environment) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	// With no valid environment, that problem is reported already.
	if u.Scheme != "https" && env != trustly.Sim && env != "" {
		return fmt.Errorf("%q: %s require https (Trustly answers an http NotificationURL with error 734)", raw, env)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") {
		return fmt.Errorf("%q must be a plain base URL: no user:password, query or fragment (Trustly refuses a NotificationURL with '?')", raw)
	}
	return nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: %q is not a host name or IP address", addr, host)
	}
	return nil
}

// loopback reports whether addr listens on this machine only. An empty host
// (":8081") is every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setField stores value in field the way envconfig would: durations as
// time.ParseDuration, numbers as strconv, slices comma-separated, and any
// type implementing envconfig.Decoder through Decode.
func setField(field reflect.Value, value string) error {
	if field.CanAddr() {
		if d, ok := field.Addr().Interface().(envconfig.Decoder); ok {
			return d.Decode(value)
		}
	}
	switch field.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(value)
		if err != nil {
			return errors.New("want a duration such as 500ms, 15s or 2m")
		}
		field.SetInt(int64(d))
		return nil
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(value)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return errors.New("want true or false")
		}
		field.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, field.Type().Bits())
		if err != nil {
			return errors.New("want a whole number")
		}
		field.SetInt(n)
	case reflect.Slice:
		var parts []string
		for p := range strings.SplitSeq(value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		field.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("config: no decoder for %s", field.Type()) // a programming error
	}
	return nil
}

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		return "number"
	case t.Kind() == reflect.Bool:
		return "boolean"
	}
	return "string"
}

// logger returns the configured logger, writing to w, with the request id of
// each record's context added.
func (c *Config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	var h slog.Handler
	if c.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestIDHandler{h})
}

// redisClient connects as configured; embedded mode starts an in-process store.
func (c *Config) redisClient() (redis.UniversalClient, error) {
	if c.RedisMode == redisModeEmbedded {
		return store.NewEmbedded()
	}
	return store.NewRedisClient(c.redis)
}

// trustlyClientConfig is the configuration of the client the engine calls
// Trustly with.
func (c *Config) trustlyClientConfig() trustly.ClientConfig {
	return trustly.ClientConfig{
		Environment:      c.env,
		URL:              c.trustlyURL,
		Credentials:      trustly.Credentials{Username: c.TrustlyUsername, Password: c.TrustlyPassword},
		PrivateKey:       c.merchantKey,
		TrustlyPublicKey: c.trustlyKey,
	}
}
