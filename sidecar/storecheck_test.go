package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// privateRedis is a redis-server of one test, on a free port: for settings
// (an eviction policy) and outages (FLUSHALL, SIGSTOP) the shared server
// must never see. core/internal/redistest does this for core/, out of
// reach here (Go's internal rule).
type privateRedis struct {
	addr string
	cmd  *exec.Cmd
	rdb  *redis.Client
}

func startPrivateRedis(t *testing.T, args ...string) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("needs redis-server on PATH: run with `make test`, which installs it")
	}
	for range 10 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		dir := t.TempDir()
		cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := &privateRedis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
		r.rdb = redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
		t.Cleanup(func() {
			r.rdb.Close()
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT) // a frozen one dies too
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		deadline := time.Now().Add(waitTimeout)
		for time.Now().Before(deadline) {
			if r.rdb.Ping(t.Context()).Err() == nil {
				// The port may have been taken in between: make sure it is ours.
				if info, err := r.rdb.Info(t.Context(), "server").Result(); err == nil &&
					strings.Contains(info, "process_id:"+strconv.Itoa(cmd.Process.Pid)+"\r") {
					return r
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
	}
	t.Fatal("no private redis-server started")
	return nil
}

// freeze stops the server with SIGSTOP: connections are accepted by the
// kernel, nothing is answered. The cleanup above thaws it.
func (r *privateRedis) freeze(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(r.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(r.cmd.Process.Pid, syscall.SIGCONT) })
}

// liveEnv is a LIVE configuration on the Redis at addr; nothing in these
// tests reaches Trustly.
func liveEnv(t *testing.T, addr string) envMap {
	return validEnv(t).with("ENVIRONMENT", "LIVE", "TRUSTLY_URL", "", "TRUSTLY_PUBLIC_KEY_FILE", "",
		"PUBLIC_BASE_URL", "https://pay.example.com", "REDIS_MODE", "single", "REDIS_ADDRS", addr,
		"REDIS_PREFIX", testPrefix(t), "LOG_FORMAT", "text", "ENGINE_TICK", "1h")
}

// runServeIn runs serve with env until the test ends and returns its
// private listener's URL.
func runServeIn(t *testing.T, env envMap) (priv string, stderr *logBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &logBuffer{}, &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"trustly-sidecar", "serve"}, env.get, strings.NewReader(""), stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, stderr)
		}
	})
	return localURL(waitFor(t, stdout, privateRe, done)), stderr
}

func metricLine(t *testing.T, priv, series string) string {
	t.Helper()
	a := do(t, http.MethodGet, priv+"/metrics", "")
	for line := range strings.Lines(a.Body) {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimSpace(line)
		}
	}
	t.Errorf("/metrics has no %s", series)
	return ""
}

// LIVE refuses a Redis that deletes keys when full, with one message that
// names the setting and the override; the override starts it with a
// warning, and the metric shows it.
func TestLiveServeRefusesAnEvictingRedis(t *testing.T) {
	r := startPrivateRedis(t, "--maxmemory-policy", "allkeys-lru")
	env := liveEnv(t, r.addr)
	res := cliEnv(t, env, "serve")
	expect{code: cli.ExitFailure, stderr: []string{"maxmemory-policy is allkeys-lru, not noeviction", "LIVE refuses it",
		config.Key("REDIS_ALLOW_EVICTION") + "=true"}}.check(t, res)

	priv, logs := runServeIn(t, env.with("REDIS_ALLOW_EVICTION", "true"))
	if got := metricLine(t, priv, `trustly_sidecar_redis_durability{check="eviction"}`); !strings.HasSuffix(got, " 0") {
		t.Errorf("eviction metric: %q, want 0", got)
	}
	if !regexp.MustCompile(`level=WARN .*maxmemory-policy is allkeys-lru`).MatchString(logs.String()) {
		t.Errorf("no warning about eviction:\n%s", logs)
	}
}

// Outside LIVE an evicting Redis and weaker durability are warnings: serve
// runs, /readyz passes with the durability check "weak", the metrics say which.
func TestServeWarnsAboutWeakDurability(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string // more settings, short names
		warns   []string
		metrics map[string]string // check → value
	}{
		{"evicting, no persistence", []string{"--maxmemory-policy", "volatile-lru"}, nil,
			[]string{"maxmemory-policy is volatile-lru", "appendonly is no"},
			map[string]string{"eviction": "0", "aof": "0", "fsync": "0"}},
		{"AOF with fsync everysec", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, nil,
			[]string{"appendfsync is everysec, not always"},
			map[string]string{"eviction": "1", "aof": "1", "fsync": "0"}},
		{"CONFIG refused: INFO, fsync unknown", []string{"--rename-command", "CONFIG", "", "--appendonly", "yes"}, nil,
			[]string{"appendfsync unknown"},
			map[string]string{"eviction": "1", "aof": "1", "fsync": "0"}},
		{"CONFIG and INFO refused: unknown", []string{"--user", "app", "on", ">app-password-1", "~*", "&*", "+@all", "-config", "-info"},
			[]string{"REDIS_USERNAME", "app", "REDIS_PASSWORD", "app-password-1"},
			[]string{"settings unknown", "maxmemory-policy unknown", "appendonly unknown", "appendfsync unknown"},
			map[string]string{"eviction": "0", "aof": "0", "fsync": "0"}},
		{"what the store requires", []string{"--appendonly", "yes", "--appendfsync", "always"}, nil,
			nil, map[string]string{"eviction": "1", "aof": "1", "fsync": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startPrivateRedis(t, tc.args...)
			env := validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", r.addr, "REDIS_PREFIX", testPrefix(t), "LOG_FORMAT", "text")
			priv, logs := runServeIn(t, env.with(tc.env...))
			a := do(t, http.MethodGet, priv+"/readyz", "")
			wantDurability := `"redis_durability":"weak"`
			if tc.warns == nil {
				wantDurability = `"redis_durability":"ok"`
			}
			if a.Status != http.StatusOK || !strings.Contains(a.Body, wantDurability) || !strings.Contains(a.Body, `"redis_data":"ok"`) {
				t.Errorf("/readyz: %d %s", a.Status, a.Body)
			}
			for _, w := range tc.warns {
				if !regexp.MustCompile(`level=WARN .*` + regexp.QuoteMeta(w)).MatchString(logs.String()) {
					t.Errorf("no WARN saying %q:\n%s", w, logs)
				}
			}
			if tc.warns == nil && strings.Contains(logs.String(), "level=WARN msg=\"redis:") {
				t.Errorf("warnings about a Redis as required:\n%s", logs)
			}
			if strings.Contains(logs.String(), "app-password-1") {
				t.Errorf("the logs hold the Redis password")
			}
			for check, v := range tc.metrics {
				series := `trustly_sidecar_redis_durability{check="` + check + `"}`
				if got := metricLine(t, priv, series); got != series+" "+v {
					t.Errorf("%q, want %s", got, v)
				}
			}
		})
	}
}

// A Redis that comes back empty after serve saw its data: /readyz fails
// with redis_data, one ERROR says what to do, the metric shows it, and the
// marker is not written again while serve runs. A restart accepts the
// empty store.
func TestServeNoticesARedisThatLostItsData(t *testing.T) {
	r := startPrivateRedis(t)
	prefix := testPrefix(t)
	s := startShopEnv(t, map[string]string{config.Key("REDIS_ADDRS"): r.addr, config.Key("REDIS_PREFIX"): prefix})
	if !strings.Contains(s.log.String(), "redis: new store, marker written") {
		t.Errorf("no INFO about the new marker:\n%s", s.log)
	}
	p := s.order(s.call(http.MethodPost, "/v1/payments", "lost-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	if a := s.call(http.MethodGet, "/readyz", "", ""); a.Status != http.StatusOK || !strings.Contains(a.Body, `"redis_data":"ok"`) {
		t.Fatalf("/readyz before: %d %s", a.Status, a.Body)
	}

	if err := r.rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a := s.call(http.MethodGet, "/readyz", "", "")
		if a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Body, `"redis_data":"fail"`) || !strings.Contains(a.Body, `"redis":"ok"`) {
			t.Fatalf("/readyz after FLUSHALL: %d %s", a.Status, a.Body)
		}
	}
	if n := strings.Count(s.log.String(), "level=ERROR msg=\"redis: the store's marker is gone"); n != 1 {
		t.Errorf("%d ERRORs about the lost data, want one per detection:\n%s", n, s.log)
	}
	if got := metricLine(t, s.priv, "trustly_sidecar_redis_data_lost"); got != "trustly_sidecar_redis_data_lost 1" {
		t.Errorf("%q, want 1", got)
	}
	if n, err := r.rdb.Exists(t.Context(), prefix+":store:marker").Result(); err != nil || n != 0 {
		t.Errorf("the running serve wrote the marker again (%d, %v)", n, err)
	}
	if a := s.call(http.MethodGet, "/v1/payments/"+p.ID, "", ""); a.Status != http.StatusNotFound {
		t.Errorf("the order after FLUSHALL: %d %s", a.Status, a.Body)
	}

	// A person accepts the empty store: serve restarted writes a new marker.
	priv, logs := runServeIn(t, validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", r.addr, "REDIS_PREFIX", prefix, "LOG_FORMAT", "text"))
	if a := do(t, http.MethodGet, priv+"/readyz", ""); a.Status != http.StatusOK {
		t.Errorf("/readyz after a restart: %d %s", a.Status, a.Body)
	}
	if !strings.Contains(logs.String(), "redis: new store, marker written") {
		t.Errorf("the restart did not say it started a new store:\n%s", logs)
	}
}

// A hung Redis (SIGSTOP: the port accepts, nothing answers) answers a
// notification, a GET payment and /readyz with 503 soon, not after the
// kernel's or go-redis's long defaults. failSafe is a safety net, not a
// measure: the defaults aim at about 2 s.
func TestAFrozenRedisIsA503Soon(t *testing.T) {
	const failSafe = 10 * time.Second
	r := startPrivateRedis(t)
	s := startShopEnv(t, map[string]string{config.Key("REDIS_ADDRS"): r.addr})
	p := s.order(s.call(http.MethodPost, "/v1/payments", "frozen-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	pem, err := trustly.MarshalPrivateKey(simKey())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}

	r.freeze(t)
	for name, req := range map[string]func() (int, string){
		"GET payment": func() (int, string) {
			a := s.call(http.MethodGet, "/v1/payments/"+p.ID, "", "")
			return a.Status, a.Body
		},
		"readyz": func() (int, string) {
			a := s.call(http.MethodGet, "/readyz", "", "")
			return a.Status, a.Body
		},
		"notification": func() (int, string) {
			res := clie(t, nil, "notify", "--url", s.pub+"/trustly/notifications/"+testSecret, "--key", keyFile,
				"--method", "credit", "--orderid", p.TrustlyOrderID, "--messageid", p.MessageID, "--amount", "103.00",
				"--currency", "SEK", "--enduserid", "shopper-1", "--notificationid", "n-frozen-1")
			if strings.Contains(res.stdout, "HTTP 503") {
				return http.StatusServiceUnavailable, res.stdout
			}
			return 0, res.stdout + res.stderr
		},
	} {
		start := time.Now()
		status, body := req()
		took := time.Since(start)
		t.Logf("%s with Redis frozen: %d after %s", name, status, took.Round(time.Millisecond))
		if status != http.StatusServiceUnavailable {
			t.Errorf("%s with Redis frozen: %d %s, want 503", name, status, body)
		}
		if took > failSafe {
			t.Errorf("%s took %s with Redis frozen", name, took)
		}
	}
}
