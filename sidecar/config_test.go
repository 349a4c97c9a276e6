package main

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// testSecret and the others are values the tests look for in output, where
// they must never appear.
const (
	testSecret      = "notify-secret-0123456789abcdef"
	testPassword    = "trustly-password-never-shown"
	testToken       = "shop-token-0123456789-never-shown"
	testRedisSecret = "redis-password-never-shown"
)

// envMap is an environment for run and config.Load.
type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

// with returns a copy with the given variables (short names, prefix added)
// set; "" removes one.
func (m envMap) with(kv ...string) envMap {
	c := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(c, config.Key(kv[i]))
		} else {
			c[config.Key(kv[i])] = kv[i+1]
		}
	}
	return c
}

// validEnv is a complete SIM configuration: both listeners on free
// localhost ports, the embedded store.
func validEnv(t *testing.T) envMap {
	t.Helper()
	return envMap{}.with(
		"ENVIRONMENT", "SIM",
		"TRUSTLY_URL", "http://127.0.0.1:8090/api/1",
		"TRUSTLY_PUBLIC_KEY_FILE", testdata("trustly-test-public.pem"),
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

func mustLoad(t *testing.T, env envMap) *config.Config {
	t.Helper()
	cfg, _, err := config.Load(env.get, nil, builtins.Names())
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cliEnv runs one command line in-process with env as the environment.
func cliEnv(t *testing.T, env envMap, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"trustly-sidecar"}, args...), env.get, strings.NewReader(""), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cli.ExitCode(err)}
}

func TestConfigCommandMasksSecrets(t *testing.T) {
	key, err := os.ReadFile(filepath.Join(keyDir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	env := validEnv(t).with("MERCHANT_PRIVATE_KEY_FILE", "", "MERCHANT_PRIVATE_KEY", string(key),
		"SHOP_API_TOKEN", testToken, "REDIS_PASSWORD_FILE", writeTemp(t, "redis", testRedisSecret), "IDLE_TIMEOUT", "90s")
	r := cliEnv(t, env, "config")
	expect{code: 0, stdout: []string{
		"TRUSTLY_SIDECAR_ENVIRONMENT = SIM (set)\n    Trustly environment: TEST, LIVE or SIM",
		"TRUSTLY_SIDECAR_TRUSTLY_PASSWORD = ******** (set)",
		"TRUSTLY_SIDECAR_REDIS_PASSWORD = ******** (set from TRUSTLY_SIDECAR_REDIS_PASSWORD_FILE)",
		"TRUSTLY_SIDECAR_REDIS_SENTINEL_PASSWORD = (not set)",
		"TRUSTLY_SIDECAR_IDLE_TIMEOUT = 90s (set; default 120s)",
		"TRUSTLY_SIDECAR_WRITE_TIMEOUT = 60s (default)",
		"TRUSTLY_SIDECAR_REDIS_MASTER_NAME = (not set)",
		"The configuration is valid.",
	}}.check(t, r)
	for _, secret := range []string{testPassword, testSecret, testToken, testRedisSecret, "PRIVATE KEY", string(key[40:80])} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("config printed the secret %q", secret)
		}
	}
	for _, v := range (&config.Config{}).Variables() {
		if !strings.Contains(r.stdout, v.Key+" = ") {
			t.Errorf("config does not print %s", v.Key)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	expect{code: 0, stdout: []string{"The configuration is valid."}}.check(t, cliEnv(t, validEnv(t), "config", "--check"))

	bad := validEnv(t).with("ENVIRONMENT", "", "NOTIFICATION_SECRET", "x", "TRUSTLY_PASSWORD", "tiny-secret-value!")
	r := cliEnv(t, bad, "config", "--check")
	expect{code: 1, stdout: []string{"invalid configuration (2 problems):\n  - TRUSTLY_SIDECAR_ENVIRONMENT is required",
		"  - TRUSTLY_SIDECAR_NOTIFICATION_SECRET must be at least 16"}}.check(t, r)
	if strings.Contains(r.stdout, "TRUSTLY_SIDECAR_PUBLIC_ADDR =") {
		t.Error("--check printed the settings")
	}
	// Plain config shows the table and the problems, and succeeds.
	expect{code: 0, stdout: []string{"TRUSTLY_SIDECAR_PUBLIC_ADDR = 127.0.0.1:0 (set; default :8080)", "invalid configuration (2 problems)"}}.check(t, cliEnv(t, bad, "config"))
}

func TestServeRefusesAnInvalidConfiguration(t *testing.T) {
	r := cliEnv(t, validEnv(t).with("PRIVATE_ADDR", "0.0.0.0:0", "ENVIRONMENT", "LIVE"), "serve")
	expect{code: 1, stderr: []string{"trustly-sidecar serve: invalid configuration", "SHOP_API_TOKEN", "LIVE", "Run 'trustly-sidecar config'"}, stdoutNone: true}.check(t, r)
}

// Through the real binary, where the names come from the process's own
// environment: a misspelled setting fails the check, naming the real one.
func TestConfigCheckRefusesAMisspelledSetting(t *testing.T) {
	if binPath == "" {
		t.Skip("go tool not found, binary not built")
	}
	cmd := exec.CommandContext(t.Context(), binPath, "config", "--check")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TRUSTLY_SIDECAR_REDIS_ADDR=redis.internal:6379"}
	for k, v := range validEnv(t) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("config --check: %v, want exit status 1\n%s", err, out)
	}
	if want := "TRUSTLY_SIDECAR_REDIS_ADDR is not a setting; did you mean TRUSTLY_SIDECAR_REDIS_ADDRS?"; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
