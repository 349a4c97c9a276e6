package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// resolve checks the values together and fills in the derived settings.
func (c *Config) resolve() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	problems = append(problems, c.resolveTrustly()...)
	problems = append(problems, c.resolveNotificationURL()...)
	problems = append(problems, c.checkListeners()...)
	problems = append(problems, c.checkAdapter()...)
	problems = append(problems, c.checkReattach()...)
	problems = append(problems, c.checkShopDefaults()...)
	problems = append(problems, c.checkPayLinks()...)

	// Whatever the checks above missed, the client's own checks catch.
	if len(problems) == 0 {
		if _, err := trustly.NewClient(c.TrustlyClientConfig()); err != nil {
			add("%w", err)
		}
	}

	problems = append(problems, c.resolveRedis()...)
	return problems
}

// resolveTrustly checks the environment, the endpoint, the keys and the credentials.
func (c *Config) resolveTrustly() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	if c.Environment == "" {
		add("%s is required: TEST, LIVE or SIM", Key("ENVIRONMENT"))
	} else if env, err := trustly.ParseEnvironment(c.Environment); err != nil {
		add("%s: unknown environment %q (want TEST, LIVE or SIM)", Key("ENVIRONMENT"), c.Environment)
	} else {
		c.env = env
	}
	c.trustlyURL = c.TrustlyURL
	if c.trustlyURL == "" {
		c.trustlyURL = c.env.URL()
	}
	switch {
	case c.trustlyURL == "" && c.env == trustly.Sim:
		add("%s is required for SIM: the simulator's API URL, e.g. http://127.0.0.1:8090/api/1", Key("TRUSTLY_URL"))
	case c.trustlyURL != "":
		if err := checkURL(c.trustlyURL, c.env == trustly.Live); err != nil {
			add("%s: %w", Key("TRUSTLY_URL"), err)
		}
	}
	if c.TrustlyPublicKeyFile != "" {
		if b, err := os.ReadFile(c.TrustlyPublicKeyFile); err != nil {
			add("%s: %w", Key("TRUSTLY_PUBLIC_KEY_FILE"), err)
		} else if c.trustlyKey, err = trustly.ParsePublicKey(b); err != nil {
			add("%s %s: %w", Key("TRUSTLY_PUBLIC_KEY_FILE"), c.TrustlyPublicKeyFile, err)
		}
	} else if c.env == trustly.Sim {
		add("%s is required for SIM: the simulator's public key (trustly_sim_public.pem in its --keys-dir)", Key("TRUSTLY_PUBLIC_KEY_FILE"))
	} else {
		c.trustlyKey = c.env.PublicKey()
	}
	if c.TrustlyUsername == "" {
		add("%s is required", Key("TRUSTLY_USERNAME"))
	}
	if c.TrustlyPassword == "" {
		add("%s (or %s) is required", Key("TRUSTLY_PASSWORD"), Key("TRUSTLY_PASSWORD_FILE"))
	}
	if c.MerchantPrivateKey == "" {
		add("%s (or %s) is required: create a key pair with 'trustly-sidecar keygen'", Key("MERCHANT_PRIVATE_KEY"), Key("MERCHANT_PRIVATE_KEY_FILE"))
	} else if k, err := trustly.ParsePrivateKey([]byte(c.MerchantPrivateKey)); err != nil {
		add("%s: %w", Key("MERCHANT_PRIVATE_KEY"), err)
	} else {
		c.merchantKey = k
	}
	if c.merchantKey != nil && c.trustlyKey != nil && c.trustlyKey.Equal(&c.merchantKey.PublicKey) {
		add("%s is the merchant's own public key; it must be Trustly's", Key("TRUSTLY_PUBLIC_KEY_FILE"))
	}
	return problems
}

// resolveNotificationURL checks the secret and the base URL and derives the NotificationURL.
func (c *Config) resolveNotificationURL() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	switch {
	case c.NotificationSecret == "":
		add("%s (or %s) is required: e.g. the output of 'openssl rand -hex 24'", Key("NOTIFICATION_SECRET"), Key("NOTIFICATION_SECRET_FILE"))
	case len(c.NotificationSecret) < minSecretLen || strings.Trim(c.NotificationSecret, urlSafe) != "":
		add("%s must be at least %d characters of A-Z a-z 0-9 - _ (e.g. 'openssl rand -hex 24')", Key("NOTIFICATION_SECRET"), minSecretLen)
	}
	if c.PublicBaseURL == "" {
		add("%s is required: the https URL Trustly reaches this sidecar at", Key("PUBLIC_BASE_URL"))
	} else if err := checkBaseURL(c.PublicBaseURL, c.env); err != nil {
		add("%s: %w", Key("PUBLIC_BASE_URL"), err)
	} else {
		c.notificationURL = strings.TrimRight(c.PublicBaseURL, "/") + notificationPath + c.NotificationSecret
	}
	return problems
}

// checkListeners checks the addresses, limits and timeouts of the listeners, and the log settings.
func (c *Config) checkListeners() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	pubErr := checkAddr(c.PublicAddr)
	if pubErr != nil {
		add("%s: %w", Key("PUBLIC_ADDR"), pubErr)
	}
	privErr := checkAddr(c.PrivateAddr)
	if privErr != nil {
		add("%s: %w", Key("PRIVATE_ADDR"), privErr)
	}
	if pubErr == nil && privErr == nil && c.PublicAddr == c.PrivateAddr && !strings.HasSuffix(c.PublicAddr, ":0") {
		add("%s and %s are the same address %q; the listeners need one each", Key("PUBLIC_ADDR"), Key("PRIVATE_ADDR"), c.PublicAddr)
	}
	if privErr == nil && !loopback(c.PrivateAddr) && c.ShopAPIToken == "" {
		add("%s %q is reachable beyond localhost, so %s (or %s) is required", Key("PRIVATE_ADDR"), c.PrivateAddr, Key("SHOP_API_TOKEN"), Key("SHOP_API_TOKEN_FILE"))
	}
	if c.ShopAPIToken != "" && len(c.ShopAPIToken) < minSecretLen {
		add("%s must be at least %d characters", Key("SHOP_API_TOKEN"), minSecretLen)
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < minSecretLen {
		add("%s must be at least %d characters", Key("METRICS_TOKEN"), minSecretLen)
	}
	if c.MetricsToken != "" && c.MetricsToken == c.ShopAPIToken {
		add("%s is %s: give Prometheus a token of its own, which reads /metrics only", Key("METRICS_TOKEN"), Key("SHOP_API_TOKEN"))
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
		{"REFUND_BALANCE_MAX_AGE", int64(c.RefundBalanceMaxAge)},
		{"REDIS_DIAL_TIMEOUT", int64(c.RedisDialTimeout)},
		{"REDIS_READ_TIMEOUT", int64(c.RedisReadTimeout)},
		{"REDIS_WRITE_TIMEOUT", int64(c.RedisWriteTimeout)},
		{"REDIS_POOL_TIMEOUT", int64(c.RedisPoolTimeout)},
		{"REDIS_REPLICA_ACK_TIMEOUT", int64(c.RedisReplicaAckTimeout)},
	} {
		if p.n <= 0 {
			add("%s must be positive", Key(p.name))
		}
	}
	if c.KYCMinimumAge < 0 || c.KYCMinimumAge > engine.MaxKYCMinimumAge {
		add("%s: %d is not an age from 0 to %d", Key("KYC_MINIMUM_AGE"), c.KYCMinimumAge, engine.MaxKYCMinimumAge)
	}
	if err := c.logLevel.UnmarshalText([]byte(c.LogLevel)); err != nil {
		add("%s: %q is not a level (want debug, info, warn or error)", Key("LOG_LEVEL"), c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("%s: %q is not a format (want json or text)", Key("LOG_FORMAT"), c.LogFormat)
	}
	return problems
}

// replication reads REDIS_REPLICA_ACKS and its companions.
func (c *Config) replication() (store.Replication, error) {
	r := store.DefaultReplication(store.Mode(c.RedisMode))
	switch v := strings.ToLower(strings.TrimSpace(c.RedisReplicaAcks)); v {
	case "auto", "":
	case "all":
		r.Acks = store.AllReplicas
	case "none":
		r.Acks = 0
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return r, fmt.Errorf("%q is not all, none, auto or a number of replicas", c.RedisReplicaAcks)
		}
		r.Acks = n
	}
	r.Timeout = c.RedisReplicaAckTimeout
	r.AOF = c.RedisWaitAOF
	return r, nil
}

// resolveRedis checks the Redis settings and derives the client configuration.
func (c *Config) resolveRedis() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	if _, err := store.NewKeys(c.RedisPrefix); err != nil {
		add("%s: %w", Key("REDIS_PREFIX"), err)
	}
	if c.Retention != 0 && c.Retention < store.MinRetention {
		add("%s: %s is shorter than %s, the 90 days notification dedupe records are kept; 0 keeps everything", Key("RETENTION"), c.Retention, store.MinRetention)
	}
	switch store.Mode(c.RedisMode) {
	case store.ModeSingle, store.ModeSentinel, store.ModeCluster, RedisModeEmbedded:
	default:
		// Said here rather than by the store, which knows no embedded mode.
		add("%s: %q is not a mode (want single, sentinel, cluster or embedded)", Key("REDIS_MODE"), c.RedisMode)
		return problems
	}
	if c.RedisMode == RedisModeEmbedded {
		if c.env == trustly.Live {
			add("%s=embedded keeps payments in memory only; LIVE needs a real Redis", Key("REDIS_MODE"))
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
		ReadTimeout:      c.RedisReadTimeout,
		WriteTimeout:     c.RedisWriteTimeout,
		PoolTimeout:      c.RedisPoolTimeout,
		MaxRetries:       c.RedisMaxRetries,
	}
	switch {
	case c.RedisMaxRetries < 0:
		add("%s must not be negative", Key("REDIS_MAX_RETRIES"))
	case c.RedisMaxRetries == 0:
		c.redis.MaxRetries = -1 // go-redis reads 0 as its default, 3
	}
	if c.RedisTLS {
		c.redis.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if repl, err := c.replication(); err != nil {
		add("%s: %w", Key("REDIS_REPLICA_ACKS"), err)
	} else {
		c.redis.Replication = &repl
	}
	if err := c.redis.Validate(); err != nil {
		for _, e := range unjoin(err) {
			add("Redis (%s...): %w", Key("REDIS_"), e)
		}
	}
	for _, a := range c.RedisAddrs {
		if err := checkAddr(a); err != nil {
			add("%s: %w", Key("REDIS_ADDRS"), err)
		}
	}
	return problems
}

// envNameRe is a portable environment variable name.
var envNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// checkAdapter checks the adapter: a built-in name or an executable file,
// and the names of the variables passed to it.
func (c *Config) checkAdapter() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	switch {
	case c.Adapter == "":
		if len(c.AdapterEnv) > 0 {
			add("%s is set but %s is not: there is no adapter to pass the variables to", Key("ADAPTER_ENV"), Key("ADAPTER"))
		}
	case slices.Contains(c.builtinAdapters, c.Adapter):
	case !filepath.IsAbs(c.Adapter):
		add("%s: %q is neither a built-in adapter (%s) nor an absolute path to an adapter executable",
			Key("ADAPTER"), c.Adapter, strings.Join(c.builtinAdapters, ", "))
	default:
		fi, err := os.Stat(c.Adapter)
		switch {
		case err != nil:
			add("%s: %w", Key("ADAPTER"), err)
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			add("%s: %s is not an executable file", Key("ADAPTER"), c.Adapter)
		}
	}
	for _, n := range c.AdapterEnv {
		switch {
		case !envNameRe().MatchString(n):
			add("%s: %q is not an environment variable name", Key("ADAPTER_ENV"), n)
		case strings.HasPrefix(n, Prefix+"_"):
			// The sidecar's own settings hold its secrets.
			add("%s: %s is the sidecar's own setting; it is never passed to an adapter", Key("ADAPTER_ENV"), n)
		}
	}
	return problems
}

// AdapterSource is where the configured adapter's process comes from; the
// plugin's environment is the ADAPTER_ENV variables, read through getenv.
// With REATTACH_ADAPTERS it is the adapter already running under a
// debugger.
func (c *Config) AdapterSource(getenv func(string) string) (pluginhost.Source, error) {
	if c.ReattachAdapters != "" {
		return pluginhost.Reattached(c.adapterName(), c.ReattachAdapters)
	}
	var env []string
	for _, n := range c.AdapterEnv {
		if v := getenv(n); v != "" {
			env = append(env, n+"="+v)
		}
	}
	if slices.Contains(c.builtinAdapters, c.Adapter) {
		return pluginhost.Builtin(c.Adapter, env...)
	}
	return pluginhost.External(c.adapterName(), c.Adapter, env...), nil
}

// adapterName is the name the adapter is known by: a built-in's own, an
// executable's file name without the trustly-adapter- prefix.
func (c *Config) adapterName() string {
	if slices.Contains(c.builtinAdapters, c.Adapter) {
		return c.Adapter
	}
	return strings.TrimPrefix(filepath.Base(c.Adapter), "trustly-adapter-")
}

// checkReattach checks the debugger's reattach value: it must name the
// configured adapter, and never reach a LIVE sidecar.
func (c *Config) checkReattach() []error {
	if c.ReattachAdapters == "" {
		return nil
	}
	k := Key("REATTACH_ADAPTERS")
	switch {
	case c.env == trustly.Live:
		return []error{fmt.Errorf("%s is a debugging aid and refused with LIVE", k)}
	case c.Adapter == "":
		return []error{fmt.Errorf("%s needs %s: the adapter it stands for", k, Key("ADAPTER"))}
	}
	if _, err := pluginhost.Reattached(c.adapterName(), c.ReattachAdapters); err != nil {
		return []error{fmt.Errorf("%s: %w", k, err)}
	}
	return nil
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

// parseAbsURL parses an absolute http(s) URL, saying in a sentence what is
// wrong otherwise: Go's own errors ("first path segment in URL cannot
// contain colon" for host:port) do not tell a person what to write.
func parseAbsURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("%q has no scheme: write the whole URL, e.g. https://%s", raw, strings.TrimLeft(raw, "/"))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, errors.Unwrap(err))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%q: the scheme must be https or http, not %q", raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	return u, nil
}

func checkURL(raw string, httpsOnly bool) error {
	u, err := parseAbsURL(raw)
	if err != nil {
		return err
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
	u, err := parseAbsURL(raw)
	if err != nil {
		return err
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
