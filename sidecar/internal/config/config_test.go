package config

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// testSecret and the others are values the tests look for in output, where
// they must never appear.
const (
	testSecret      = "notify-secret-0123456789abcdef"
	testPassword    = "trustly-password-never-shown"
	testToken       = "shop-token-0123456789-never-shown"
	testRedisSecret = "redis-password-never-shown"
)

// builtins stands for the adapters a binary registers.
var builtins = []string{"generic"}

// envMap is an environment for Load.
type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

// names are the variables set, as the process environment would list them.
func (m envMap) names() []string { return slices.Sorted(maps.Keys(m)) }

// with returns a copy with the given variables (short names, prefix added)
// set; "" removes one.
func (m envMap) with(kv ...string) envMap {
	c := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(c, Key(kv[i]))
		} else {
			c[Key(kv[i])] = kv[i+1]
		}
	}
	return c
}

// The merchant's key pair as PEM files in keyDir, made once for the
// package's tests.
const (
	privateKeyFile = "merchant_private.pem"
	publicKeyFile  = "merchant_public.pem"
)

var keyDir = func() string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := trustly.MarshalPrivateKey(k)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "config-test-")
	if err != nil {
		panic(err)
	}
	pub, err := trustly.MarshalPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, privateKeyFile), b, 0o600); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, publicKeyFile), pub, 0o600); err != nil {
		panic(err)
	}
	return dir
}()

// validEnv is a complete SIM configuration: both listeners on free
// localhost ports, the embedded store.
func validEnv(t *testing.T) envMap {
	t.Helper()
	return envMap{}.with(
		"ENVIRONMENT", "SIM",
		"TRUSTLY_URL", "http://127.0.0.1:8090/api/1",
		"TRUSTLY_PUBLIC_KEY_FILE", filepath.Join("..", "..", "testdata", "trustly-test-public.pem"),
		"TRUSTLY_USERNAME", "merchant",
		"TRUSTLY_PASSWORD", testPassword,
		"MERCHANT_PRIVATE_KEY_FILE", filepath.Join(keyDir, privateKeyFile),
		"PUBLIC_BASE_URL", "http://127.0.0.1:8080",
		"NOTIFICATION_SECRET", testSecret,
		"PUBLIC_ADDR", "127.0.0.1:0",
		"PRIVATE_ADDR", "127.0.0.1:0",
		"REDIS_MODE", "embedded",
	)
}

func mustLoad(t *testing.T, env envMap) *Config {
	t.Helper()
	cfg, _, err := Load(env.get, env.names(), builtins)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func problemsOf(t *testing.T, env envMap) []string {
	t.Helper()
	_, _, err := Load(env.get, env.names(), builtins)
	if err == nil {
		return nil
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load: %v is not a *config.Error", err)
	}
	var out []string
	for _, p := range ce.Problems() {
		out = append(out, p.Error())
	}
	return out
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidConfigDerivesTheNotificationURL(t *testing.T) {
	cfg := mustLoad(t, validEnv(t).with("PUBLIC_BASE_URL", "http://127.0.0.1:8080/"))
	if want := "http://127.0.0.1:8080/trustly/notifications/" + testSecret; cfg.NotificationURL() != want {
		t.Errorf("notification URL %q, want %q", cfg.NotificationURL(), want)
	}
	if cfg.TrustlyEnvironment() != trustly.Sim || cfg.MerchantKey() == nil || cfg.TrustlyPublicKey() == nil {
		t.Errorf("env %q, merchant key %v, Trustly key %v", cfg.TrustlyEnvironment(), cfg.MerchantKey() != nil, cfg.TrustlyPublicKey() != nil)
	}
	if cfg.PrivateAddr != "127.0.0.1:0" || cfg.ReadHeaderTimeout <= 0 || cfg.MaxNotificationBytes != 64<<10 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestRetentionReachesTheOrderStore(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want time.Duration
	}{
		{"", 400 * 24 * time.Hour}, // the default
		{"2160h", 90 * 24 * time.Hour},
		{"0", -1}, // forever; the store reads 0 as its default
	} {
		e := validEnv(t)
		if tt.env != "" {
			e = e.with("RETENTION", tt.env)
		}
		if got := mustLoad(t, e).OrdersOptions().Retention; got != tt.want {
			t.Errorf("RETENTION=%q: store retention %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestTestAndLivePickTrustlysURLAndKey(t *testing.T) {
	for _, env := range []trustly.Environment{trustly.Test, trustly.Live} {
		t.Run(string(env), func(t *testing.T) {
			cfg := mustLoad(t, validEnv(t).with("ENVIRONMENT", strings.ToLower(string(env)),
				"TRUSTLY_URL", "", "TRUSTLY_PUBLIC_KEY_FILE", "", "REDIS_MODE", "single",
				"PUBLIC_BASE_URL", "https://pay.example.com"))
			if cfg.TrustlyAPIURL() != env.URL() || !cfg.TrustlyPublicKey().Equal(env.PublicKey()) {
				t.Errorf("URL %q and key: want %q and Trustly's %s key", cfg.TrustlyAPIURL(), env.URL(), env)
			}
		})
	}
}

func TestConfigProblems(t *testing.T) {
	merchantPub := filepath.Join(keyDir, publicKeyFile)
	merchantPEM, err := os.ReadFile(filepath.Join(keyDir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  envMap
		want []string // each a fragment of one problem
	}{
		{"environment missing", validEnv(t).with("ENVIRONMENT", ""), []string{"ENVIRONMENT is required"}},
		{"unknown environment", validEnv(t).with("ENVIRONMENT", "PROD"), []string{`unknown environment "PROD"`}},
		{"KYC minimum age below 0", validEnv(t).with("KYC_MINIMUM_AGE", "-1"), []string{"KYC_MINIMUM_AGE: -1 is not an age from 0 to 130"}},
		{"KYC minimum age above 130", validEnv(t).with("KYC_MINIMUM_AGE", "131"), []string{"KYC_MINIMUM_AGE: 131 is not an age"}},
		{"LIVE with an http public base URL", validEnv(t).with("ENVIRONMENT", "LIVE", "TRUSTLY_URL", "", "REDIS_MODE", "single"),
			[]string{"PUBLIC_BASE_URL", "LIVE require https", "734"}},
		{"TEST with an http public base URL", validEnv(t).with("ENVIRONMENT", "TEST", "TRUSTLY_URL", "", "REDIS_MODE", "single"),
			[]string{"TEST require https"}},
		{"LIVE with an http Trustly URL", validEnv(t).with("ENVIRONMENT", "LIVE", "PUBLIC_BASE_URL", "https://pay.example.com", "REDIS_MODE", "single"),
			[]string{"TRUSTLY_URL", "LIVE requires https"}},
		{"public base URL with a query", validEnv(t).with("PUBLIC_BASE_URL", "http://x.example/?a=b"), []string{"no user:password, query or fragment"}},
		{"SIM without URL and key", validEnv(t).with("TRUSTLY_URL", "", "TRUSTLY_PUBLIC_KEY_FILE", ""),
			[]string{"TRUSTLY_URL is required for SIM", "TRUSTLY_PUBLIC_KEY_FILE is required for SIM"}},
		{"credentials missing", validEnv(t).with("TRUSTLY_USERNAME", "", "TRUSTLY_PASSWORD", "", "MERCHANT_PRIVATE_KEY_FILE", ""),
			[]string{"TRUSTLY_USERNAME is required", "TRUSTLY_PASSWORD (or TRUSTLY_SIDECAR_TRUSTLY_PASSWORD_FILE) is required", "MERCHANT_PRIVATE_KEY (or"}},
		{"unreadable key file", validEnv(t).with("MERCHANT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
			[]string{"MERCHANT_PRIVATE_KEY_FILE: open /nonexistent/key.pem"}},
		{"public key where the private key belongs", validEnv(t).with("MERCHANT_PRIVATE_KEY_FILE", merchantPub),
			[]string{trustly.ErrPublicNotPriv.Error()}},
		{"garbage Trustly key", validEnv(t).with("TRUSTLY_PUBLIC_KEY_FILE", writeTemp(t, "k.pem", "not a key")),
			[]string{"TRUSTLY_PUBLIC_KEY_FILE", "no PEM block"}},
		{"private key where Trustly's public key belongs", validEnv(t).with("TRUSTLY_PUBLIC_KEY_FILE", filepath.Join(keyDir, privateKeyFile)),
			[]string{trustly.ErrPrivNotPublic.Error()}},
		{"merchant key as Trustly's key", validEnv(t).with("TRUSTLY_PUBLIC_KEY_FILE", merchantPub), []string{"merchant's own public key"}},
		{"secret both inline and from a file", validEnv(t).with("MERCHANT_PRIVATE_KEY", string(merchantPEM)),
			[]string{"MERCHANT_PRIVATE_KEY and TRUSTLY_SIDECAR_MERCHANT_PRIVATE_KEY_FILE are both set"}},
		{"reattach without an adapter", validEnv(t).with("REATTACH_ADAPTERS", reattachValue("generic")),
			[]string{"REATTACH_ADAPTERS needs TRUSTLY_SIDECAR_ADAPTER"}},
		{"reattach with LIVE", validEnv(t).with("ENVIRONMENT", "LIVE", "TRUSTLY_URL", "", "REDIS_MODE", "single",
			"PUBLIC_BASE_URL", "https://pay.example.com", "ADAPTER", "generic", "REATTACH_ADAPTERS", reattachValue("generic")),
			[]string{"REATTACH_ADAPTERS is a debugging aid and refused with LIVE"}},
		{"reattach for another adapter", validEnv(t).with("ADAPTER", "generic", "REATTACH_ADAPTERS", reattachValue("woocommerce")),
			[]string{`REATTACH_ADAPTERS: TRUSTLY_SIDECAR_REATTACH_ADAPTERS has no entry for adapter "generic"`}},
		{"reattach value that is not JSON", validEnv(t).with("ADAPTER", "generic", "REATTACH_ADAPTERS", "{nope"),
			[]string{"REATTACH_ADAPTERS: "}},
		{"short notification secret", validEnv(t).with("NOTIFICATION_SECRET", "short"), []string{"NOTIFICATION_SECRET must be at least 16"}},
		{"notification secret with a slash", validEnv(t).with("NOTIFICATION_SECRET", "abcdefghijklmnop/q"), []string{"A-Z a-z 0-9 - _"}},
		{"bad listen addresses", validEnv(t).with("PUBLIC_ADDR", "8080", "PRIVATE_ADDR", "localhost:http"),
			[]string{`PUBLIC_ADDR: "8080" is not HOST:PORT`, `PRIVATE_ADDR: "localhost:http": port "http"`}},
		{"same address twice", validEnv(t).with("PUBLIC_ADDR", "127.0.0.1:9000", "PRIVATE_ADDR", "127.0.0.1:9000"), []string{"are the same address"}},
		{"private listener on every interface without a token", validEnv(t).with("PRIVATE_ADDR", ":8081"),
			[]string{`PRIVATE_ADDR ":8081" is reachable beyond localhost, so TRUSTLY_SIDECAR_SHOP_API_TOKEN`}},
		{"private listener on the pod IP without a token", validEnv(t).with("PRIVATE_ADDR", "10.0.0.7:8081"), []string{"reachable beyond localhost"}},
		{"short token", validEnv(t).with("SHOP_API_TOKEN", "x"), []string{"SHOP_API_TOKEN must be at least 16"}},
		{"not a duration", validEnv(t).with("READ_TIMEOUT", "15"), []string{`READ_TIMEOUT: "15" is not a valid duration: a duration needs a unit: 15s, 15ms or 15m`}},
		{"a base URL without a scheme", validEnv(t).with("PUBLIC_BASE_URL", "pay.example.com:8443"),
			[]string{`PUBLIC_BASE_URL: "pay.example.com:8443" has no scheme: write the whole URL, e.g. https://pay.example.com:8443`}},
		{"a base URL of another scheme", validEnv(t).with("PUBLIC_BASE_URL", "ftp://pay.example.com"), []string{`the scheme must be https or http, not "ftp"`}},
		{"zero timeout", validEnv(t).with("SHUTDOWN_TIMEOUT", "0s"), []string{"SHUTDOWN_TIMEOUT must be positive"}},
		{"Redis timeouts and retries", validEnv(t).with("REDIS_MODE", "single", "REDIS_READ_TIMEOUT", "0s", "REDIS_POOL_TIMEOUT", "-1s", "REDIS_MAX_RETRIES", "-2"),
			[]string{"REDIS_READ_TIMEOUT must be positive", "REDIS_POOL_TIMEOUT must be positive", "REDIS_MAX_RETRIES must not be negative"}},
		{"not a number", validEnv(t).with("MAX_NOTIFICATION_BYTES", "64k"), []string{`MAX_NOTIFICATION_BYTES: "64k" is not a valid number`}},
		{"bad log settings", validEnv(t).with("LOG_LEVEL", "loud", "LOG_FORMAT", "xml"), []string{`LOG_LEVEL: "loud"`, `LOG_FORMAT: "xml"`}},
		{"embedded store with LIVE", validEnv(t).with("ENVIRONMENT", "LIVE", "TRUSTLY_URL", "", "PUBLIC_BASE_URL", "https://pay.example.com"),
			[]string{"REDIS_MODE=embedded keeps payments in memory only"}},
		{"adapter neither built in nor a path", validEnv(t).with("ADAPTER", "woocommerce"), []string{`ADAPTER: "woocommerce" is neither a built-in adapter (generic)`}},
		{"adapter executable missing", validEnv(t).with("ADAPTER", "/nonexistent/adapter"), []string{"ADAPTER: stat /nonexistent/adapter"}},
		{"adapter not executable", validEnv(t).with("ADAPTER", merchantPub), []string{"is not an executable file"}},
		{"adapter variables without an adapter", validEnv(t).with("ADAPTER_ENV", "SHOP_URL"), []string{"ADAPTER_ENV is set but TRUSTLY_SIDECAR_ADAPTER is not"}},
		{"adapter given the sidecar's secrets", validEnv(t).with("ADAPTER", "generic", "ADAPTER_ENV", "SHOP_URL,TRUSTLY_SIDECAR_TRUSTLY_PASSWORD,1BAD"),
			[]string{"TRUSTLY_SIDECAR_TRUSTLY_PASSWORD is the sidecar's own setting", `"1BAD" is not an environment variable name`}},
		{"unknown Redis mode", validEnv(t).with("REDIS_MODE", "memcached"), []string{`REDIS_MODE: "memcached" is not a mode (want single, sentinel, cluster or embedded)`}},
		{"sentinel without master", validEnv(t).with("REDIS_MODE", "sentinel"), []string{"sentinel mode needs the master name"}},
		{"Redis prefix with a brace", validEnv(t).with("REDIS_PREFIX", "a{b}"), []string{"REDIS_PREFIX"}},
		{"Redis address", validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", "redis"), []string{`REDIS_ADDRS: "redis" is not HOST:PORT`}},
		{"replica acknowledgements", validEnv(t).with("REDIS_MODE", "single", "REDIS_REPLICA_ACKS", "most"),
			[]string{`REDIS_REPLICA_ACKS: "most" is not all, none, auto or a number of replicas`}},
		{"negative replica acknowledgements", validEnv(t).with("REDIS_MODE", "single", "REDIS_REPLICA_ACKS", "-1"),
			[]string{`REDIS_REPLICA_ACKS: "-1" is not all, none, auto or a number of replicas`}},
		{"replica acknowledgement timeout", validEnv(t).with("REDIS_MODE", "single", "REDIS_REPLICA_ACK_TIMEOUT", "0s"),
			[]string{"REDIS_REPLICA_ACK_TIMEOUT must be positive"}},
		{"retention below the dedupe promise", validEnv(t).with("RETENTION", "720h"), []string{"RETENTION: 720h0m0s is shorter than 2160h0m0s"}},
		{"negative retention", validEnv(t).with("RETENTION", "-1h"), []string{"RETENTION: -1h0m0s is shorter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := problemsOf(t, tt.env)
			all := strings.Join(problems, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no problem mentions %q; problems:\n%s", w, all)
				}
			}
			if len(problems) > len(tt.want)+1 {
				t.Errorf("%d problems for one mistake:\n%s", len(problems), all)
			}
		})
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	env := envMap{}.with("PUBLIC_ADDR", "nope", "READ_TIMEOUT", "soon", "REDIS_MODE", "carrier-pigeon", "LOG_LEVEL", "loud")
	all := strings.Join(problemsOf(t, env), "\n")
	for _, w := range []string{"ENVIRONMENT", "TRUSTLY_USERNAME", "TRUSTLY_PASSWORD", "MERCHANT_PRIVATE_KEY",
		"PUBLIC_BASE_URL", "NOTIFICATION_SECRET", "PUBLIC_ADDR", "READ_TIMEOUT", "carrier-pigeon", "LOG_LEVEL"} {
		if !strings.Contains(all, w) {
			t.Errorf("problems do not mention %s:\n%s", w, all)
		}
	}
}

func TestSecretsComeFromFiles(t *testing.T) {
	key, err := os.ReadFile(filepath.Join(keyDir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	env := validEnv(t).with(
		"TRUSTLY_PASSWORD", "", "TRUSTLY_PASSWORD_FILE", writeTemp(t, "password", testPassword+"\n"),
		"MERCHANT_PRIVATE_KEY_FILE", "", "MERCHANT_PRIVATE_KEY", string(key),
		"NOTIFICATION_SECRET", "", "NOTIFICATION_SECRET_FILE", writeTemp(t, "secret", testSecret+"\r\n"),
		"SHOP_API_TOKEN_FILE", writeTemp(t, "token", testToken),
		"REDIS_PASSWORD_FILE", writeTemp(t, "redis", testRedisSecret),
	)
	cfg := mustLoad(t, env)
	if cfg.TrustlyPassword != testPassword || cfg.NotificationSecret != testSecret || cfg.ShopAPIToken != testToken || cfg.RedisPassword != testRedisSecret {
		t.Errorf("secrets from files: password %q secret %q token %q redis %q", cfg.TrustlyPassword, cfg.NotificationSecret, cfg.ShopAPIToken, cfg.RedisPassword)
	}
	if cfg.MerchantKey() == nil {
		t.Error("inline PEM key not parsed")
	}
	problems := problemsOf(t, env.with("SHOP_API_TOKEN_FILE", "/nonexistent/token"))
	if len(problems) != 1 || !strings.Contains(problems[0], "SHOP_API_TOKEN_FILE: open /nonexistent/token") {
		t.Errorf("unreadable secret file: %q", problems)
	}
}

func TestEveryVariableIsDocumented(t *testing.T) {
	vars := (&Config{}).Variables()
	seen := map[string]bool{}
	for _, v := range vars {
		seen[v.Key] = true
	}
	for _, v := range vars {
		if !strings.HasPrefix(v.Key, Prefix+"_") {
			t.Errorf("%s lacks the %s_ prefix", v.Key, Prefix)
		}
		if v.Desc() == "" {
			t.Errorf("%s has no desc tag", v.Key)
		}
		if v.Secret() && !seen[v.FileKey()] {
			t.Errorf("secret %s has no %s variable", v.Key, v.FileKey())
		}
		if v.Secret() && v.Default() != "" {
			t.Errorf("secret %s has a default", v.Key)
		}
	}
	if len(seen) != len(vars) {
		t.Errorf("%d variables but %d names: a name is used twice", len(vars), len(seen))
	}
}

// reattachValue is what an adapter named name prints in debug mode.
func reattachValue(name string) string {
	return `{"` + name + `":{"protocol":"grpc","protocol_version":1,"pid":4242,"test":true,"addr":{"network":"unix","string":"/tmp/plugin-debug"}}}`
}

// The adapter SDK tells the person to set this variable; it must be ours.
func TestReattachVariableIsTheSDKs(t *testing.T) {
	if Key("REATTACH_ADAPTERS") != adapter.EnvReattach {
		t.Fatalf("the sidecar reads %s, the SDK prints %s", Key("REATTACH_ADAPTERS"), adapter.EnvReattach)
	}
	cfg := mustLoad(t, validEnv(t).with("ADAPTER", "generic", "REATTACH_ADAPTERS", reattachValue("generic")))
	src, err := cfg.AdapterSource(envMap{}.get)
	if err != nil || src.Reattach == nil || src.Reattach.Pid != 4242 || src.Path != "" {
		t.Fatalf("source %+v, %v: want the reattached process", src, err)
	}
}

// The replica acknowledgements default to every connected replica where
// Redis fails over by itself (Sentinel, Cluster) and to none on a single
// node, where nothing must change; a setting overrides the default.
func TestReplicaAcksFollowTheMode(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		want store.Replication
	}{
		{"single: none", []string{"REDIS_MODE", "single"}, store.Replication{Timeout: 500 * time.Millisecond}},
		{"sentinel: all", []string{"REDIS_MODE", "sentinel", "REDIS_MASTER_NAME", "m"},
			store.Replication{Acks: store.AllReplicas, Timeout: 500 * time.Millisecond}},
		{"cluster: all", []string{"REDIS_MODE", "cluster"}, store.Replication{Acks: store.AllReplicas, Timeout: 500 * time.Millisecond}},
		{"cluster: none", []string{"REDIS_MODE", "cluster", "REDIS_REPLICA_ACKS", "none"}, store.Replication{Timeout: 500 * time.Millisecond}},
		{"single: two, fsynced", []string{"REDIS_MODE", "single", "REDIS_REPLICA_ACKS", "2", "REDIS_REPLICA_ACK_TIMEOUT", "2s", "REDIS_WAIT_AOF", "true"},
			store.Replication{Acks: 2, Timeout: 2 * time.Second, AOF: true}},
		{"sentinel: ALL", []string{"REDIS_MODE", "sentinel", "REDIS_MASTER_NAME", "m", "REDIS_REPLICA_ACKS", "ALL"},
			store.Replication{Acks: store.AllReplicas, Timeout: 500 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, validEnv(t).with(tt.env...))
			if cfg.redis.Replication == nil || *cfg.redis.Replication != tt.want {
				t.Errorf("replication %v, want %v", cfg.redis.Replication, tt.want)
			}
		})
	}
}

// A variable with the prefix that is not a setting is refused, naming the
// setting it most likely meant: envconfig alone ignores it, and
// TRUSTLY_SIDECAR_REDIS_ADDR then silently means 127.0.0.1:6379.
func TestUnknownVariablesAreProblems(t *testing.T) {
	tests := []struct {
		name string
		set  string // full name
		want string // "" means no problem
	}{
		{"a missing letter", "TRUSTLY_SIDECAR_REDIS_ADDR", "TRUSTLY_SIDECAR_REDIS_ADDR is not a setting; did you mean TRUSTLY_SIDECAR_REDIS_ADDRS?"},
		{"a missing underscore", "TRUSTLY_SIDECAR_LOGLEVEL", "did you mean TRUSTLY_SIDECAR_LOG_LEVEL?"},
		{"a _FILE companion misspelled", "TRUSTLY_SIDECAR_TRUSTLY_PASSWRD_FILE", "did you mean TRUSTLY_SIDECAR_TRUSTLY_PASSWORD_FILE?"},
		{"nothing alike", "TRUSTLY_SIDECAR_FROBNICATE_EVERYTHING", "TRUSTLY_SIDECAR_FROBNICATE_EVERYTHING is not a setting (run 'trustly-sidecar config' to list them)"},
		{"a _FILE companion of a secret", "TRUSTLY_SIDECAR_SHOP_API_TOKEN_FILE", ""},
		{"another program's prefix", "TRUSTLY_GENERIC_CALLBACK_URL", ""},
		{"a Kubernetes service link", "TRUSTLY_SIDECAR_SERVICE_HOST", ""},
		{"a Kubernetes service port link", "TRUSTLY_SIDECAR_PORT_8080_TCP_ADDR", ""},
		{"a Kubernetes named service port", "TRUSTLY_SIDECAR_SERVICE_PORT_HTTP_PRIVATE", ""},
		{"the plugin handshake", "TRUSTLY_SIDECAR_ADAPTER_PLUGIN", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv(t)
			env[tt.set] = "x"
			if tt.set == "TRUSTLY_SIDECAR_SHOP_API_TOKEN_FILE" {
				env[tt.set] = writeTemp(t, "token", strings.Repeat("t", 32))
			}
			got := strings.Join(problemsOf(t, env), "\n")
			if tt.want == "" {
				if got != "" {
					t.Errorf("problems %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

// A value that does not parse is one problem, not also a "must be
// positive" about the zero it left behind.
func TestABadValueIsReportedOnce(t *testing.T) {
	for _, kv := range [][2]string{{"ENGINE_TICK", "soon"}, {"REDIS_DIAL_TIMEOUT", "5"}, {"MAX_NOTIFICATION_BYTES", "64k"}} {
		t.Run(kv[0], func(t *testing.T) {
			problems := problemsOf(t, validEnv(t).with("REDIS_MODE", "single", kv[0], kv[1]))
			if len(problems) != 1 {
				t.Errorf("%d problems, want 1:\n%s", len(problems), strings.Join(problems, "\n"))
			}
		})
	}
}

func TestLogsWriteDurationsAsGoDoes(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var b strings.Builder
			slog.New(mustLoad(t, validEnv(t).with("LOG_FORMAT", format)).LogHandler(&b)).Info("retry", "backoff", 1500*time.Millisecond)
			if !strings.Contains(b.String(), "1.5s") || strings.Contains(b.String(), "1500000000") {
				t.Errorf("log line %q, want the duration as 1.5s", b.String())
			}
		})
	}
}
