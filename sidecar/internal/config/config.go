// Package config reads the sidecar's settings from the environment
// (TRUSTLY_SIDECAR_*, envconfig's naming), secrets also from *_FILE paths,
// checks them all at once with one message per problem, and builds what
// the settings describe: the log handler, the store (a core/store.DB), the
// Trustly client's configuration, the adapter's source and the pay-link
// senders. Print and Table show the settings without their secrets.
package config

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Prefix starts every variable. TRUSTLY_SIDECAR_ rather than TRUSTLY_: the
// shorter one collides with names the test harness (TRUSTLY_TEST_REDIS_ADDR)
// and other Trustly tooling use, and a typo'd variable of another program
// must never look like ours.
const Prefix = "TRUSTLY_SIDECAR"

// notificationPath is where Trustly posts notifications; the secret segment
// makes the NotificationURL hard to guess (Trustly's advice).
const notificationPath = "/trustly/notifications/"

// RedisModeEmbedded runs an in-process store (core/store.NewEmbedded): no
// Redis to install, state lost on exit. For `make run` and demos; refused
// with LIVE.
const RedisModeEmbedded = "embedded"

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
	MetricsToken         string        `envconfig:"METRICS_TOKEN" secret:"true" desc:"bearer token that reads /metrics on the private listener and nothing else, for Prometheus (the shop API token can charge and refund), at least 16 characters and not SHOP_API_TOKEN; the shop API token reads /metrics too"`
	MetricsTokenFile     string        `envconfig:"METRICS_TOKEN_FILE" desc:"file holding the metrics bearer token, instead of TRUSTLY_SIDECAR_METRICS_TOKEN"`
	MaxNotificationBytes int64         `envconfig:"MAX_NOTIFICATION_BYTES" default:"65536" desc:"largest notification body accepted; larger ones are answered 413 (Trustly's are a few KiB)"`
	MaxRequestBytes      int64         `envconfig:"MAX_REQUEST_BYTES" default:"1048576" desc:"largest shop API request body accepted; larger ones are answered 413"`
	ReadHeaderTimeout    time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"5s" desc:"time to read a request's headers (both listeners)"`
	ReadTimeout          time.Duration `envconfig:"READ_TIMEOUT" default:"15s" desc:"time to read a whole request (both listeners)"`
	WriteTimeout         time.Duration `envconfig:"WRITE_TIMEOUT" default:"60s" desc:"time from the end of the request headers to the end of the answer; must cover a Trustly call (both listeners)"`
	IdleTimeout          time.Duration `envconfig:"IDLE_TIMEOUT" default:"120s" desc:"how long an idle keep-alive connection stays open (both listeners)"`
	ShutdownTimeout      time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"25s" desc:"on SIGTERM, how long requests in flight (notifications above all) may take to finish; keep it below Kubernetes' terminationGracePeriodSeconds (30s)"`
	EngineTick           time.Duration `envconfig:"ENGINE_TICK" default:"1m" desc:"how often the engine reconciles open orders and (at most every 15 minutes) refreshes the Trustly balance"`
	Pprof                bool          `envconfig:"PPROF" default:"false" desc:"serve Go's profiler at /debug/pprof/ on the private listener, behind SHOP_API_TOKEN; off by default (a heap profile holds secrets)"`
	RefundBalanceMaxAge  time.Duration `envconfig:"REFUND_BALANCE_MAX_AGE" default:"1m" desc:"how old the known Trustly balance may be to refuse a refund it does not cover; an older one is fetched again first (one call shared by concurrent refunds)"`
	KYCMinimumAge        int           `envconfig:"KYC_MINIMUM_AGE" default:"18" desc:"payments that ask for KYC (requestKyc): the age in whole years (on the day, UTC) below which Trustly's kyc is answered FINISH, as is one without a readable date of birth; a payment's kycMinimumAge replaces it; 0 checks no age (0-130)"`
	KYCMatchNationalID   bool          `envconfig:"KYC_MATCH_NATIONAL_ID" default:"true" desc:"payments that ask for KYC and send nationalIdentificationNumber: answer Trustly's kyc FINISH when its personid is another person's (Trustly sends personid in SE, FI and EE only; without one nothing is compared)"`
	Adapter              string        `envconfig:"ADAPTER" desc:"the shop platform adapter that receives status changes: empty for none (changes wait in the outbox), generic for the built-in generic adapter (run as a plugin process of this binary), or the absolute path of an adapter executable"`
	AdapterEnv           []string      `envconfig:"ADAPTER_ENV" desc:"comma-separated names of environment variables passed through to the adapter plugin, e.g. TRUSTLY_GENERIC_CALLBACK_URL,TRUSTLY_GENERIC_CALLBACK_SECRET; the plugin gets nothing else of the sidecar's environment (never the TRUSTLY_SIDECAR_ secrets)"`
	ReattachAdapters     string        `envconfig:"REATTACH_ADAPTERS" desc:"debugging an adapter only: the value an adapter serving in debug mode prints (TRUSTLY_ADAPTER_DEBUG=1, e.g. under dlv); serve then connects to that running adapter instead of starting TRUSTLY_SIDECAR_ADAPTER, and never stops it. Refused with LIVE"`
	ShopSuccessURL       string        `envconfig:"SHOP_SUCCESS_URL" desc:"platform webhooks: the http(s) URL a shopper returns to after paying, when the platform's command does not carry one"`
	ShopFailURL          string        `envconfig:"SHOP_FAIL_URL" desc:"platform webhooks: the http(s) URL a shopper returns to after a cancelled or failed payment"`
	ShopLocale           string        `envconfig:"SHOP_LOCALE" desc:"platform webhooks: the Trustly checkout's locale, e.g. sv_SE"`
	ShopCountry          string        `envconfig:"SHOP_COUNTRY" desc:"platform webhooks: the shopper's country (ISO 3166-1 alpha-2, e.g. SE) when the platform sends none"`
	ShopShopperStatement string        `envconfig:"SHOP_SHOPPER_STATEMENT" desc:"platform webhooks: the text on the shopper's bank statement for payments and charges, e.g. the shop's name"`
	ShopRequestKYC       bool          `envconfig:"SHOP_REQUEST_KYC" default:"false" desc:"platform webhooks: ask for KYC on every payment (as requestKyc on /v1), decided by the KYC_ rules; the adapter protocol has no per-payment field for it"`
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
	RedisReadTimeout          time.Duration `envconfig:"REDIS_READ_TIMEOUT" default:"1s" desc:"time to wait for one Redis reply; with a hung Redis a notification or shop call answers 503 after about (1 + REDIS_MAX_RETRIES) times this"`
	RedisWriteTimeout         time.Duration `envconfig:"REDIS_WRITE_TIMEOUT" default:"1s" desc:"time to send one command to Redis"`
	RedisPoolTimeout          time.Duration `envconfig:"REDIS_POOL_TIMEOUT" default:"1s" desc:"time to wait for a free Redis connection when all are busy (as they soon are while Redis hangs)"`
	RedisMaxRetries           int           `envconfig:"REDIS_MAX_RETRIES" default:"1" desc:"retries of a Redis command that failed on the network, each on a fresh connection; 0 for none"`
	RedisAllowEviction        bool          `envconfig:"REDIS_ALLOW_EVICTION" default:"false" desc:"LIVE only: start even though Redis's maxmemory-policy is not noeviction. An evicting Redis deletes orders and idempotency records when full (second Deposits, lost orders); see core/store/LAYOUT.md. Elsewhere an evicting Redis is only a warning"`
	RedisReplicaAcks          string        `envconfig:"REDIS_REPLICA_ACKS" default:"auto" desc:"replicas that must acknowledge a write before an answer depends on it (OK to Trustly, the claim before calling Trustly, a 201): all (every replica online at the master), none, or a number; auto is all in sentinel and cluster modes and none in single. Each answer then waits one round trip to the replicas; see core/store/LAYOUT.md"`
	RedisReplicaAckTimeout    time.Duration `envconfig:"REDIS_REPLICA_ACK_TIMEOUT" default:"500ms" desc:"how long a write waits for its replica acknowledgements; past it the answer is 503 (Trustly and the shop retry) and trustly_sidecar_redis_replica_ack_timeouts_total counts it"`
	RedisWaitAOF              bool          `envconfig:"REDIS_WAIT_AOF" default:"false" desc:"also wait until the master (and the acknowledging replicas) fsynced the write to their append-only files (WAITAOF; Redis 7.2 or later, appendonly yes everywhere; older servers get WAIT)"`
	Retention                 time.Duration `envconfig:"RETENTION" default:"9600h" desc:"how long a settled order (with its notification dedupe records, log and indexes), a shopper's accounts without an active mandate and an unrouted notification are kept after their last change (9600h = 400 days: a year of refunds and disputes, plus a month for the books). Orders still awaiting something (open, pending, an active mandate) never expire. At least 2160h (the 90 days of notification dedupe); 0 keeps everything forever"`

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

	// Resolved by Load; envconfig skips unexported fields.
	env             trustly.Environment
	trustlyURL      string
	trustlyKey      *rsa.PublicKey
	merchantKey     *rsa.PrivateKey
	notificationURL string
	redis           store.RedisConfig
	logLevel        slog.Level
	builtinAdapters []string // the adapters built into the binary, by name
}

// Key is the full name of the setting name: Key("ADAPTER") is
// TRUSTLY_SIDECAR_ADAPTER.
func Key(name string) string { return Prefix + "_" + name }

// Variable is one environment variable of Config, as envconfig names it.
type Variable struct {
	Key   string // full name, prefix included
	tags  reflect.StructTag
	field reflect.Value // settable, inside the Config it was gathered from
}

// Desc is the variable's description.
func (v Variable) Desc() string { return v.tags.Get("desc") }

// Default is its default value, "" for none.
func (v Variable) Default() string { return v.tags.Get("default") }

// Secret reports a secret: never printed, also read from FileKey.
func (v Variable) Secret() bool { return v.tags.Get("secret") == "true" }

// FileKey is the companion variable naming a file that holds a secret.
func (v Variable) FileKey() string { return v.Key + "_FILE" }

func (v Variable) typeName() string { return typeName(v.field.Type()) }

// Variables lists c's variables in declaration order. envconfig does the
// naming (prefix, tags, nesting) through its usage template, which is its
// public way of describing a specification; the values are read here
// rather than by envconfig.Process, because Process reads only the process
// environment and stops at the first bad value, and run must take getenv
// from its caller and report every problem at once.
func (c *Config) Variables() []Variable {
	var vars []Variable
	collect := func(key string, tags reflect.StructTag, field reflect.Value) string {
		vars = append(vars, Variable{Key: key, tags: tags, field: field})
		return ""
	}
	tmpl := template.Must(template.New("vars").Funcs(template.FuncMap{"collect": collect}).
		Parse(`{{range .}}{{collect .Key .Tags .Field}}{{end}}`))
	if err := envconfig.Usaget(Prefix, c, io.Discard, tmpl); err != nil {
		panic("config: envconfig cannot describe Config: " + err.Error()) // a programming error
	}
	return vars
}

// Setting is one variable with what the environment says about it.
type Setting struct {
	Variable
	Raw    string // as found in the environment; "" when unset
	IsSet  bool
	ByFile bool // the secret came from the _FILE variable
}

// Error lists every problem found in the configuration.
type Error struct{ problems []error }

func (e *Error) Error() string {
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

func (e *Error) Unwrap() []error { return e.problems }

// Problems are the problems, one error each.
func (e *Error) Problems() []error { return e.problems }

// Load reads and checks the configuration. names are the variables set in
// the environment: one with the prefix that is not a setting is a problem
// (nil skips that check). On failure Load still returns what it read (for
// the config command) and a *Error listing every problem.
func Load(getenv func(string) string, names []string, builtinAdapters []string) (*Config, []Setting, error) {
	return load(getenv, names, builtinAdapters, func(string) bool { return true }, (*Config).resolve)
}

// LoadRedis reads and checks only what reaching the store takes: the
// REDIS_ settings. Operator commands (outbox, unrouted) need nothing else,
// and asking for Trustly's password to list dead letters would put it in
// one more shell. The embedded store lives inside serve's process, so
// there is nothing to reach from outside it.
func LoadRedis(getenv func(string) string, names []string) (*Config, error) {
	redisOnly := func(key string) bool { return strings.HasPrefix(key, Key("REDIS_")) }
	c, _, err := load(getenv, names, nil, redisOnly, func(c *Config) []error {
		if c.RedisMode == RedisModeEmbedded {
			return []error{fmt.Errorf("%s=embedded: the embedded store lives inside serve's process; this command needs the Redis serve uses (single, sentinel or cluster)", Key("REDIS_MODE"))}
		}
		return c.resolveRedis()
	})
	return c, err
}

// load reads the variables relevant names (an unknown name with the
// prefix is always a problem), then runs resolve.
func load(getenv func(string) string, names []string, builtinAdapters []string, relevant func(key string) bool, resolve func(*Config) []error) (*Config, []Setting, error) {
	c := &Config{builtinAdapters: builtinAdapters}
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }

	vars := c.Variables()
	problems = append(problems, unknownNames(names, vars)...)
	files := make(map[string]bool) // _FILE companions, handled with their secret
	for _, v := range vars {
		if v.Secret() {
			files[v.FileKey()] = true
		}
	}
	var settings []Setting
	for _, v := range vars {
		if !relevant(v.Key) {
			continue
		}
		s := Setting{Variable: v, Raw: getenv(v.Key)}
		s.IsSet = s.Raw != ""
		value := s.Raw
		if v.Secret() {
			if path := getenv(v.FileKey()); path != "" {
				if s.IsSet {
					add("%s and %s are both set; set one", v.Key, v.FileKey())
				}
				b, err := os.ReadFile(path)
				if err != nil {
					// The path is not secret; the error names it.
					add("%s: %w", v.FileKey(), err)
				}
				// Mounted secrets often end in a newline nobody meant.
				value, s.IsSet, s.ByFile = strings.TrimRight(string(b), "\r\n"), true, true
			}
		}
		if !s.IsSet && !files[v.Key] {
			value = v.Default()
		}
		if value != "" {
			if err := setField(v.field, value); err != nil {
				shown := strconv.Quote(value)
				if v.Secret() {
					shown = "(secret)"
				}
				add("%s: %s is not a valid %s: %w", v.Key, shown, v.typeName(), err)
				// Checked on as if unset, so the value is reported once,
				// not again as, say, "must be positive".
				if d := v.Default(); d != "" {
					_ = setField(v.field, d)
				}
			}
		}
		settings = append(settings, s)
	}
	problems = append(problems, resolve(c)...)
	if len(problems) > 0 {
		return c, settings, &Error{problems: problems}
	}
	return c, settings, nil
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
		if _, nerr := strconv.ParseInt(value, 10, 64); nerr == nil && value != "0" {
			return fmt.Errorf("a duration needs a unit: %ss, %sms or %sm", value, value, value)
		}
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

// readableDurations writes durations as Go writes them ("1.5s"): slog's JSON
// handler writes nanoseconds, which nobody reading a log at 3 a.m. wants to
// divide.
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// LogHandler is the configured log handler, writing to w.
func (c *Config) LogHandler(w io.Writer) slog.Handler {
	opts := &slog.HandlerOptions{Level: c.logLevel, ReplaceAttr: readableDurations}
	if c.LogFormat == "text" {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}

// OpenStore connects to Redis as configured; embedded mode starts an
// in-process store.
func (c *Config) OpenStore() (*store.DB, error) {
	if c.RedisMode == RedisModeEmbedded {
		return store.OpenEmbedded(c.RedisPrefix)
	}
	return store.Open(c.redis, c.RedisPrefix)
}

// OrdersOptions are the order store's settings.
func (c *Config) OrdersOptions() store.OrdersOptions {
	if c.Retention == 0 {
		return store.OrdersOptions{Retention: -1} // the store reads 0 as its default
	}
	return store.OrdersOptions{Retention: c.Retention}
}

// RedisDescription names the Redis for a log line, without its passwords.
func (c *Config) RedisDescription() string {
	if c.RedisMode == RedisModeEmbedded {
		return "embedded (in memory)"
	}
	return c.redis.String()
}

// TrustlyClientConfig is the configuration of the client the engine calls
// Trustly with.
func (c *Config) TrustlyClientConfig() trustly.ClientConfig {
	return trustly.ClientConfig{
		Environment:      c.env,
		URL:              c.trustlyURL,
		Credentials:      trustly.Credentials{Username: c.TrustlyUsername, Password: c.TrustlyPassword},
		PrivateKey:       c.merchantKey,
		TrustlyPublicKey: c.trustlyKey,
	}
}

// TrustlyEnvironment is the parsed ENVIRONMENT.
func (c *Config) TrustlyEnvironment() trustly.Environment { return c.env }

// TrustlyAPIURL is Trustly's API URL: TRUSTLY_URL, else the environment's.
func (c *Config) TrustlyAPIURL() string { return c.trustlyURL }

// TrustlyPublicKey verifies Trustly's answers and notifications.
func (c *Config) TrustlyPublicKey() *rsa.PublicKey { return c.trustlyKey }

// MerchantKey signs calls and notification replies.
func (c *Config) MerchantKey() *rsa.PrivateKey { return c.merchantKey }

// NotificationURL is the URL Trustly posts notifications to, secret included:
// never log it.
func (c *Config) NotificationURL() string { return c.notificationURL }
