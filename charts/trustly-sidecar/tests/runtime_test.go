package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The tests in this file run the sidecar binary (TRUSTLY_TEST_SIDECAR_BIN, built by make
// chart-test) with exactly the environment, arguments and files the chart renders for
// its container, the way the kubelet would start it from the scratch image with a
// read-only root file system: every path the container may use must be on one of its
// volume mounts. Each mount becomes a local directory (a Secret's or ConfigMap's items
// written as files, an emptyDir empty and writable); a path outside every mount, /tmp
// included (scratch has none and the root is read-only), becomes a directory that does
// not exist. TMPDIR unset means Go's default, /tmp of the root file system.

// runtimeValues is a SIM sidecar with the embedded store and the generic adapter (a
// plugin process, so go-plugin needs its socket directory), on free local ports.
// With redisAddr it uses that Redis (mode single) instead.
func runtimeValues(t *testing.T, redisAddr string) string {
	t.Helper()
	store := "redis:\n  mode: embedded\n"
	if redisAddr != "" {
		store = "redis:\n  mode: single\n  addrs: [" + redisAddr + "]\n"
	}
	trustlyKey := rsaKey(t, "trustly")
	pub, err := x509.MarshalPKIXPublicKey(&trustlyKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(rsaKey(t, "merchant"))
	if err != nil {
		t.Fatal(err)
	}
	indent := func(b []byte) string { return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n    ") }
	return fmt.Sprintf(`trustly:
  environment: SIM
  # Nothing listens here: calls to Trustly fail, which serve only logs.
  url: http://127.0.0.1:1/api/1
  username: merchant
  publicKey: |
    %s
publicBaseURL: http://trustly-sidecar:8080
adapter: generic
adapterEnv:
  TRUSTLY_GENERIC_CALLBACK_URL: https://shop.example/trustly/status
secrets:
  trustlyPassword: sim-password
  merchantPrivateKey: |
    %s
  notificationSecret: 0123456789abcdef0123456789abcdef
  shopApiToken: shop-api-token-for-chart-tests
  platform:
    TRUSTLY_GENERIC_WEBHOOK_SECRET: generic-webhook-secret-for-chart-tests
    TRUSTLY_GENERIC_CALLBACK_SECRET: generic-callback-secret-for-chart-tests
%sreplicaCount: 1
podDisruptionBudget:
  enabled: false
networkPolicy:
  enabled: false
ports:
  public: %d
  private: %d
log:
  format: text
`, indent(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		indent(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		store, freePort(t), freePort(t))
}

var (
	keysMu sync.Mutex
	keys   = map[string]*rsa.PrivateKey{}
)

// rsaKey returns the 2048-bit key named name, generated once per test binary.
func rsaKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if keys[name] == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
	}
	return keys[name]
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func sidecarBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("TRUSTLY_TEST_SIDECAR_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot, "bin/trustly-sidecar")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v (make build creates it)", err)
	}
	return bin
}

// renderStandalone renders the chart with runtimeValues and returns its objects.
func renderStandalone(t *testing.T, extra ...string) []any {
	t.Helper()
	f := filepath.Join(t.TempDir(), "runtime.yaml")
	if err := os.WriteFile(f, []byte(runtimeValues(t, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"template", "shop", chartDir, "--namespace", "shop", "-f", f}, extra...)
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	return decodeAll(t, out)
}

// renderShop renders the example shop chart with runtimeValues (on the Redis at
// redisAddr) as its trustly values, and returns its objects.
func renderShop(t *testing.T, redisAddr string, extra ...string) []any {
	t.Helper()
	vals := "trustly:\n  " + strings.ReplaceAll(strings.TrimSpace(runtimeValues(t, redisAddr)), "\n", "\n  ") + "\n"
	f := filepath.Join(t.TempDir(), "runtime.yaml")
	if err := os.WriteFile(f, []byte(vals), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"template", "shop", shopChart(t), "--namespace", "shop", "-f", f}, extra...)
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	return decodeAll(t, out)
}

// startRedis runs a redis-server without persistence on a free port; kill stops it.
func startRedis(t *testing.T) (addr string, kill func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(kill)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	if !eventually(5*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatal("redis-server did not start")
	}
	return addr, kill
}

// started is a sidecar process started from a rendered container.
type started struct {
	c      *corev1.Container
	stderr *syncBuffer
	// probe asks the rendered probe (or any path on a named port) of the running process.
	get func(path, port string) (int, string)
}

// startRendered starts the container named sidecar of spec as the kubelet would, with
// the files of objs on its mounts. The process is stopped (SIGTERM) at the test's end.
func startRendered(t *testing.T, spec corev1.PodSpec, objs []any) *started {
	t.Helper()
	c := findSidecar(spec)
	if c == nil {
		t.Fatal("no sidecar container")
	}
	root := t.TempDir()
	mounts := map[string]string{} // mount path in the container -> local directory
	for i, m := range c.VolumeMounts {
		dir := filepath.Join(root, fmt.Sprintf("mount%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeVolume(t, dir, volume(t, spec, m.Name), objs)
		mounts[m.MountPath] = dir
	}
	missing := filepath.Join(root, "not-on-any-mount")
	local := func(p string) string {
		for mp, dir := range mounts {
			if p == mp || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") {
				return dir + strings.TrimPrefix(p, mp)
			}
		}
		return missing + p
	}
	env := []string{"PATH=/nonexistent"}
	tmpdir := "/tmp" // Go's default when TMPDIR is unset
	for _, e := range c.Env {
		v := e.Value
		if e.Name == "TMPDIR" {
			tmpdir = v
			continue
		}
		if strings.HasPrefix(v, "/") {
			v = local(v)
		}
		env = append(env, e.Name+"="+v)
	}
	env = append(env, "TMPDIR="+local(tmpdir))

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sidecarBin(t), c.Args...)
	cmd.Env = env
	cmd.Dir = root
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	s := &started{c: c, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = io.Discard, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	client := &http.Client{Timeout: 2 * time.Second}
	s.get = func(path, port string) (int, string) {
		n := ports[port]
		if n == 0 {
			t.Fatalf("no container port named %s", port)
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", n, path))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	return s
}

// eventually polls f every 200ms until it returns true or d has passed.
func eventually(d time.Duration, f func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(200 * time.Millisecond) {
		if f() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func volume(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("volume %s is mounted but not in the pod", name)
	return corev1.Volume{}
}

// writeVolume writes what the kubelet would put on the volume's mount.
func writeVolume(t *testing.T, dir string, v corev1.Volume, objs []any) {
	t.Helper()
	write := func(path string, data []byte) {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	secretItems := func(name string, items []corev1.KeyToPath) {
		s := findObject[*corev1.Secret](objs, name)
		if s == nil {
			t.Fatalf("volume %s: Secret %s is not rendered", v.Name, name)
		}
		for _, it := range items {
			data, ok := s.Data[it.Key]
			if !ok {
				t.Fatalf("volume %s: Secret %s has no key %s", v.Name, name, it.Key)
			}
			write(it.Path, data)
		}
	}
	configItems := func(name string, items []corev1.KeyToPath) {
		cm := findObject[*corev1.ConfigMap](objs, name)
		if cm == nil {
			t.Fatalf("volume %s: ConfigMap %s is not rendered", v.Name, name)
		}
		if len(items) == 0 {
			for k := range cm.Data {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			write(it.Path, []byte(cm.Data[it.Key]))
		}
	}
	switch {
	case v.EmptyDir != nil:
	case v.Secret != nil:
		secretItems(v.Secret.SecretName, v.Secret.Items)
	case v.ConfigMap != nil:
		configItems(v.ConfigMap.Name, v.ConfigMap.Items)
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.Secret != nil:
				secretItems(src.Secret.Name, src.Secret.Items)
			case src.ConfigMap != nil:
				configItems(src.ConfigMap.Name, src.ConfigMap.Items)
			}
		}
	default:
		t.Fatalf("volume %s: a kind this test cannot provide", v.Name)
	}
}

func findObject[T interface{ GetName() string }](objs []any, name string) T {
	var zero T
	for _, o := range objs {
		if v, ok := o.(T); ok && v.GetName() == name {
			return v
		}
	}
	return zero
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestAdapterStartsOnReadOnlyRoot: with an adapter configured, go-plugin creates its
// unix socket in TMPDIR. The chart must give it a writable directory on a mount, or
// /readyz stays 503 with "plugin init error ... no such file or directory".
func TestAdapterStartsOnReadOnlyRoot(t *testing.T) {
	objs := renderStandalone(t)
	spec := only[*appsv1.Deployment](t, objs).Spec.Template.Spec
	c := findSidecar(spec)
	if v := envValue(c, "TMPDIR"); v == "" {
		t.Error("TMPDIR is not set: go-plugin would use /tmp, which the scratch image lacks")
	}
	var tmp *corev1.Volume
	for _, m := range c.VolumeMounts {
		if m.MountPath == envValue(c, "TMPDIR") {
			v := volume(t, spec, m.Name)
			tmp = &v
		}
	}
	if tmp == nil || tmp.EmptyDir == nil || tmp.EmptyDir.Medium != corev1.StorageMediumMemory || tmp.EmptyDir.SizeLimit == nil {
		t.Errorf("TMPDIR is not a memory-backed emptyDir with a sizeLimit: %+v", tmp)
	}

	s := startRendered(t, spec, objs)
	ready := func() bool {
		code, body := s.get("/readyz", "trustly-private")
		return code == http.StatusOK && strings.Contains(body, `"adapter":"ok"`)
	}
	if !eventually(15*time.Second, ready) {
		code, body := s.get("/readyz", "trustly-private")
		t.Fatalf("/readyz %d %s with the rendered environment; stderr:\n%s", code, body, s.stderr)
	}

	// The check can fail: the same container without the volume at TMPDIR (the chart
	// before this fix) never gets its adapter up.
	t.Run("without a writable TMPDIR", func(t *testing.T) {
		objs := renderStandalone(t)
		spec := only[*appsv1.Deployment](t, objs).Spec.Template.Spec
		c := findSidecar(spec)
		var keep []corev1.VolumeMount
		for _, m := range c.VolumeMounts {
			if m.MountPath != envValue(c, "TMPDIR") {
				keep = append(keep, m)
			}
		}
		c.VolumeMounts = keep
		s := startRendered(t, spec, objs)
		if eventually(4*time.Second, func() bool {
			return strings.Contains(s.stderr.String(), "plugin init error")
		}) {
			if code, _ := s.get("/readyz", "trustly-private"); code != http.StatusServiceUnavailable {
				t.Errorf("/readyz %d, want 503 while the adapter cannot start", code)
			}
			return
		}
		t.Fatalf("the adapter started without a writable TMPDIR: the test cannot tell; stderr:\n%s", s.stderr)
	})
}

// probe asks a rendered HTTP probe of the running container.
func (s *started) probe(p *corev1.Probe) (int, string) {
	return s.get(p.HTTPGet.Path, p.HTTPGet.Port.String())
}

// TestRedisBlipBesideTheShop: beside the shop, the sidecar's readiness is the pod's,
// so a Redis outage must not make the rendered readiness probe fail (the storefront
// would leave its Service), while /readyz, on 127.0.0.1 only, reports it.
func TestRedisBlipBesideTheShop(t *testing.T) {
	addr, killRedis := startRedis(t)
	objs := renderShop(t, addr)
	spec := only[*appsv1.Deployment](t, objs).Spec.Template.Spec
	s := startRendered(t, spec, objs)
	if a := envValue(s.c, "TRUSTLY_SIDECAR_PRIVATE_ADDR"); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("PRIVATE_ADDR %q: beside the shop the private listener stays on 127.0.0.1", a)
	}
	if !eventually(15*time.Second, func() bool {
		code, _ := s.get("/readyz", "trustly-private")
		return code == http.StatusOK
	}) {
		code, body := s.get("/readyz", "trustly-private")
		t.Fatalf("/readyz %d %s; stderr:\n%s", code, body, s.stderr)
	}
	if code, body := s.probe(s.c.ReadinessProbe); code != http.StatusOK {
		t.Fatalf("readiness probe %d %s with Redis up", code, body)
	}
	killRedis()
	if !eventually(10*time.Second, func() bool {
		code, body := s.get("/readyz", "trustly-private")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"redis":"fail"`)
	}) {
		code, body := s.get("/readyz", "trustly-private")
		t.Fatalf("/readyz %d %s with Redis down, want 503 naming redis", code, body)
	}
	// ... and /metrics, for alerts, since the pod stays ready.
	req, _ := http.NewRequest(http.MethodGet, "http://"+strings.TrimPrefix(envValue(s.c, "TRUSTLY_SIDECAR_PRIVATE_ADDR"), "127.0.0.1")+"/metrics", nil)
	req.URL.Host = "127.0.0.1" + req.URL.Host
	req.Header.Set("Authorization", "Bearer shop-api-token-for-chart-tests")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Errorf("/metrics: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `trustly_sidecar_ready{check="redis"} 0`) {
			t.Errorf("/metrics does not report Redis down (trustly_sidecar_ready{check=\"redis\"} 0): %d", resp.StatusCode)
		}
	}
	for range 3 {
		if code, body := s.probe(s.c.ReadinessProbe); code != http.StatusOK {
			t.Fatalf("the rendered readiness probe (%s on %s) answers %d %s while Redis is down: the shop's pod leaves its Service",
				s.c.ReadinessProbe.HTTPGet.Path, s.c.ReadinessProbe.HTTPGet.Port.String(), code, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// binarySettings are the TRUSTLY_SIDECAR_* variables 'trustly-sidecar config' lists.
func binarySettings(t *testing.T) (map[string]bool, string) {
	t.Helper()
	cmd := exec.Command(sidecarBin(t), "config")
	cmd.Env = []string{"PATH=/nonexistent"}
	out, _ := cmd.Output() // config exits non-zero when the settings are incomplete
	settings := map[string]bool{}
	for line := range strings.SplitSeq(string(out), "\n") {
		if name, _, ok := strings.Cut(line, " = "); ok && strings.HasPrefix(name, "TRUSTLY_SIDECAR_") {
			settings[name] = true
		}
	}
	return settings, string(out)
}

// TestRenderedVariablesAreSettings: serve refuses a TRUSTLY_SIDECAR_ variable that is not
// a setting, so every one the chart renders, for every ci values file, must be one.
func TestRenderedVariablesAreSettings(t *testing.T) {
	settings, out := binarySettings(t)
	if len(settings) < 40 {
		t.Fatalf("only %d settings in 'trustly-sidecar config':\n%s", len(settings), out)
	}
	for _, f := range ciValues(t) {
		rendered, err := helm(t, "template", "shop", chartDir, "-f", f,
			"--set", "smtp.addr=smtp.example.com:587", "--set", "smtp.from=pay@shop.example", "--set", "smtp.username=u",
			"--set", "secrets.smtpPassword=x", "--set", "sms.gateway=json", "--set", "sms.url=https://sms.example", "--set", "sms.from=Shop",
			"--set", "sms.auth=true", "--set", "secrets.smsPassword=x", "--set", "secrets.existingSecret=", "--set", "secrets.metricsToken=metrics-token-for-chart-tests")
		if err != nil && strings.Contains(f, "live-sentinel") {
			continue // existingSecret with values set: refused, and rendered below as is
		}
		if err != nil {
			t.Fatalf("helm template -f %s: %v\n%s", f, err, rendered)
		}
		checkSettings(t, filepath.Base(f), rendered, settings)
	}
	rendered, err := helm(t, "template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/live-sentinel-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkSettings(t, "live-sentinel-values.yaml as is", rendered, settings)
}

func checkSettings(t *testing.T, name, rendered string, settings map[string]bool) {
	t.Helper()
	for _, o := range decodeAll(t, rendered) {
		if d, ok := o.(*appsv1.Deployment); ok {
			for _, e := range findSidecar(d.Spec.Template.Spec).Env {
				if strings.HasPrefix(e.Name, "TRUSTLY_SIDECAR_") && !settings[e.Name] {
					t.Errorf("%s: the chart renders %s, which is not a setting of the binary", name, e.Name)
				}
			}
		}
	}
}

// TestEverySecretHasAFile: every secret setting the binary knows (X with an X_FILE twin in
// 'trustly-sidecar config') can be given through the chart as a file on the secret volume.
// ci/live-sentinel-values.yaml turns every one of them on.
func TestEverySecretHasAFile(t *testing.T) {
	settings, out := binarySettings(t)
	var secrets []string
	for name := range settings {
		if base, ok := strings.CutSuffix(name, "_FILE"); ok && settings[base] {
			secrets = append(secrets, base)
		}
	}
	if len(secrets) < 8 {
		t.Fatalf("only %d secret settings in 'trustly-sidecar config': %v\n%s", len(secrets), secrets, out)
	}
	rendered, err := helm(t, "template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/live-sentinel-values.yaml"))
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, rendered)
	}
	c := findSidecar(only[*appsv1.Deployment](t, decodeAll(t, rendered)).Spec.Template.Spec)
	for _, s := range secrets {
		if v := envValue(c, s+"_FILE"); !strings.HasPrefix(v, secretDir+"/") {
			t.Errorf("%s: the chart gives it no file (%s_FILE %q)", s, s, v)
		}
	}
}

// TestMetricsToken: the ServiceMonitor's token, as the chart renders it into the sidecar,
// reads /metrics and nothing else; the shop API stays closed to it.
func TestMetricsToken(t *testing.T) {
	const token = "prometheus-token-for-chart-tests"
	objs := renderStandalone(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "secrets.metricsToken="+token)
	spec := only[*appsv1.Deployment](t, objs).Spec.Template.Spec
	s := startRendered(t, spec, objs)
	client := &http.Client{Timeout: 2 * time.Second}
	var port int32
	for _, p := range s.c.Ports {
		if p.Name == "trustly-private" {
			port = p.ContainerPort
		}
	}
	get := func(path, bearer string) int {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if !eventually(15*time.Second, func() bool { return get("/metrics", token) == http.StatusOK }) {
		t.Fatalf("/metrics with the metrics token: %d; stderr:\n%s", get("/metrics", token), s.stderr)
	}
	if code := get("/v1/balance", token); code != http.StatusUnauthorized {
		t.Errorf("/v1/balance with the metrics token: %d, want 401", code)
	}
	if code := get("/metrics", "shop-api-token-for-chart-tests"); code != http.StatusOK {
		t.Errorf("/metrics with the shop API token: %d, want 200", code)
	}
}

// TestBuiltInWooCommerce: the chart accepts the adapters built into the binary by name;
// WooCommerce's settings and secrets, given the chart's way, start it.
func TestBuiltInWooCommerce(t *testing.T) {
	objs := renderStandalone(t, "--set", "adapter=woocommerce",
		"--set", "adapterEnv.TRUSTLY_WOOCOMMERCE_URL=https://shop.example.com",
		"--set", "secrets.platform.TRUSTLY_WOOCOMMERCE_CONSUMER_KEY=ck_0123456789abcdef",
		"--set", "secrets.platform.TRUSTLY_WOOCOMMERCE_CONSUMER_SECRET=cs_0123456789abcdef",
		"--set", "secrets.platform.TRUSTLY_WOOCOMMERCE_WEBHOOK_SECRET=wh_0123456789abcdef")
	s := startRendered(t, only[*appsv1.Deployment](t, objs).Spec.Template.Spec, objs)
	if !eventually(15*time.Second, func() bool {
		code, body := s.get("/readyz", "trustly-private")
		return code == http.StatusOK && strings.Contains(body, `"adapter":"ok"`)
	}) {
		code, body := s.get("/readyz", "trustly-private")
		t.Fatalf("/readyz %d %s; stderr:\n%s", code, body, s.stderr)
	}
}
