//go:build unix

package wordpresstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test's inputs, all set by `make wordpress-test`.
const (
	envGate      = "TRUSTLY_TEST_WORDPRESS"     // 1 runs the test
	envCore      = "TRUSTLY_TEST_WORDPRESS_DIR" // Debian's WordPress tree (usr/share/wordpress of the package)
	envZip       = "TRUSTLY_TEST_WORDPRESS_ZIP" // the plugin zip of make woocommerce-zip
	envSidecar   = "TRUSTLY_TEST_SIDECAR_BIN"   // bin/trustly-sidecar
	envMySQLAddr = "TRUSTLY_TEST_MYSQL_ADDR"    // host:port of a MariaDB taking root without a password (.ci/with-mariadb)
)

// inputs are the paths the test runs on; it fails (never skips) when the
// gate is set and one is missing, so the make target cannot pass empty.
type inputs struct {
	core, zip, sidecar, mysql, php string
}

func requireInputs(t *testing.T) inputs {
	t.Helper()
	if os.Getenv(envGate) != "1" {
		t.Skipf("set %s=1 (make wordpress-test does) to run the plugin in a real WordPress", envGate)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	in := inputs{
		core:    envOr(envCore, "/usr/share/wordpress"),
		zip:     envOr(envZip, filepath.Join(root, "bin/trustly-sidecar-gateway.zip")),
		sidecar: envOr(envSidecar, filepath.Join(root, "bin/trustly-sidecar")),
		mysql:   os.Getenv(envMySQLAddr),
	}
	in.php, _ = exec.LookPath("php")
	for what, path := range map[string]string{"WordPress (" + envCore + ")": filepath.Join(in.core, "wp-settings.php"), "the plugin zip (" + envZip + ")": in.zip, "the sidecar (" + envSidecar + ")": in.sidecar} {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if in.php == "" || in.mysql == "" {
		t.Fatalf("needs php on PATH and %s (run it with .ci/with-mariadb)", envMySQLAddr)
	}
	return in
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// syncBuffer collects a child's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a child started for the test; stop ends it and waits.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func start(t *testing.T, name string, env []string, dir string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env, p.cmd.Dir = env, dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// A group of its own: php -S with workers forks, and the workers hold
	// the output pipe; stop signals them all.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// eventually polls f for up to 30 s.
func eventually(t *testing.T, what string, f func() bool, context func() string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); ; {
		if f() {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s\n%s", what, tail(context(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// sidecar is the real binary: the simulator and serve, as the Vendure
// plugin's end-to-end tests start them (platforms/vendure/plugin/test/stack.ts),
// with no adapter: the status write-back is the Go adapter's business and
// tested in sidecar/woocommerce_test.go; here only the PHP plugin's calls.
type sidecar struct {
	url, simURL, token string
	serve, sim         *process
}

func startSidecar(t *testing.T, bin string) *sidecar {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if out, err := exec.Command(bin, "keygen", "--out-dir", keys).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	env := []string{"PATH=" + os.Getenv("PATH")}
	s := &sidecar{token: "shop-api-token-" + randomHex(t, 16)}
	s.sim = start(t, bin, env, dir, "sim", "--addr", "127.0.0.1:0", "--relaxed",
		"--keys-dir", filepath.Join(keys, "sim"), "--merchant-public-key", filepath.Join(keys, "merchant_public.pem"),
		"--settlement-delay", "1s")
	apiURL := regexp.MustCompile(`API URL:\s+(\S+)/api/1`)
	eventually(t, "the simulator to listen", func() bool {
		m := apiURL.FindStringSubmatch(s.sim.out.String())
		if m != nil {
			s.simURL = m[1]
		}
		return m != nil
	}, s.sim.out.String)

	pub, priv := freePort(t), freePort(t)
	s.url = fmt.Sprintf("http://127.0.0.1:%d", priv)
	s.serve = start(t, bin, append(env,
		"TRUSTLY_SIDECAR_ENVIRONMENT=SIM",
		"TRUSTLY_SIDECAR_TRUSTLY_URL="+s.simURL+"/api/1",
		"TRUSTLY_SIDECAR_TRUSTLY_PUBLIC_KEY_FILE="+filepath.Join(keys, "sim/trustly_sim_public.pem"),
		"TRUSTLY_SIDECAR_TRUSTLY_USERNAME=merchant",
		"TRUSTLY_SIDECAR_TRUSTLY_PASSWORD=sim-password",
		"TRUSTLY_SIDECAR_MERCHANT_PRIVATE_KEY_FILE="+filepath.Join(keys, "merchant_private.pem"),
		fmt.Sprintf("TRUSTLY_SIDECAR_PUBLIC_ADDR=127.0.0.1:%d", pub),
		fmt.Sprintf("TRUSTLY_SIDECAR_PUBLIC_BASE_URL=http://127.0.0.1:%d", pub),
		"TRUSTLY_SIDECAR_NOTIFICATION_SECRET=notification-secret-0123456789",
		fmt.Sprintf("TRUSTLY_SIDECAR_PRIVATE_ADDR=127.0.0.1:%d", priv),
		"TRUSTLY_SIDECAR_SHOP_API_TOKEN="+s.token,
		"TRUSTLY_SIDECAR_REDIS_MODE=embedded",
		"TRUSTLY_SIDECAR_LOG_FORMAT=text",
		"TRUSTLY_SIDECAR_ENGINE_TICK=1s",
	), dir, "serve")
	eventually(t, "the sidecar to be ready", func() bool {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, func() string { return s.serve.out.String() })
	return s
}

// payment is the part of the shop API's order (openapi.json, Order) the
// test reads.
type payment struct {
	ID                string   `json:"id"`
	State             string   `json:"state"`
	Amount            int64    `json:"amount"`
	Currency          string   `json:"currency"`
	Refunded          int64    `json:"refunded"`
	EndUserID         string   `json:"endUserId"`
	ExternalReference string   `json:"externalReference"`
	URL               string   `json:"url"`
	Refunds           []string `json:"refunds"`
	PaymentID         string   `json:"paymentId"`
}

// get reads the shop API with the token.
func (s *sidecar) get(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}

// wordpress is one throwaway site: a copy of Debian's tree (hard links)
// with its own wp-config.php and wp-content, its own database, served by
// php -S.
type wordpress struct {
	url, dir, debugLog string
	server             *process
	admin              *client // logged in as the administrator
	user, password     string
}

// newWordPress makes the site and installs WordPress through
// wp-admin/install.php, as a person does on a new site.
func newWordPress(t *testing.T, in inputs) *wordpress {
	t.Helper()
	run := t.TempDir()
	wp := &wordpress{dir: filepath.Join(run, "wordpress"), debugLog: filepath.Join(run, "debug.log"),
		user: "admin", password: "pw-" + randomHex(t, 12)}
	linkTree(t, in.core, wp.dir)
	content := filepath.Join(run, "wp-content")
	for _, d := range []string{"plugins", "mu-plugins", "uploads", "upgrade"} {
		if err := os.MkdirAll(filepath.Join(content, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, mu := range []string{"woocommerce-stand-in.php", "no-mail.php"} {
		b, err := os.ReadFile(filepath.Join("testdata/mu-plugins", mu))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(content, "mu-plugins", mu), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	db := "wptest_" + randomHex(t, 6)
	host, port, err := net.SplitHostPort(in.mysql)
	if err != nil {
		t.Fatalf("%s: %v", envMySQLAddr, err)
	}
	mysql := func(sql string) {
		t.Helper()
		// php's mysqli, which WordPress needs anyway: no client program or Go driver for one statement.
		out, err := exec.Command(in.php, "-r", `mysqli_report(MYSQLI_REPORT_ERROR|MYSQLI_REPORT_STRICT); $db = new mysqli($argv[1], "root", "", "", (int) $argv[2]); $db->query($argv[3]);`,
			host, port, sql).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, out)
		}
	}
	mysql("CREATE DATABASE `" + db + "` CHARACTER SET utf8mb4")
	t.Cleanup(func() { mysql("DROP DATABASE IF EXISTS `" + db + "`") })

	httpPort := freePort(t)
	wp.url = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	salts := ""
	for _, k := range []string{"AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"} {
		salts += fmt.Sprintf("define( '%s', '%s' );\n", k, randomHex(t, 24))
	}
	config := fmt.Sprintf(`<?php
// Written by platforms/woocommerce/wordpresstest for one test run; it
// replaces Debian's wp-config.php, which reads /etc/wordpress.
define( 'DB_NAME', %q );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', %q );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_HOME', %q );
define( 'WP_SITEURL', %q );
define( 'WP_CONTENT_DIR', %q );
define( 'WP_TEMP_DIR', %q );
define( 'FS_METHOD', 'direct' );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_ACCESSIBLE_HOSTS', '' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', %q );
%s$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
`, db, in.mysql, wp.url, wp.url, content, run, wp.debugLog, salts)
	if err := os.WriteFile(filepath.Join(wp.dir, "wp-config.php"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	// Two workers: WordPress requests itself (install.php tries pretty
	// permalinks on the new site), which one php -S process would answer
	// only after that request's timeout.
	wp.server = start(t, in.php, []string{"PATH=" + os.Getenv("PATH"), "PHP_CLI_SERVER_WORKERS=2"}, wp.dir, "-S", fmt.Sprintf("127.0.0.1:%d", httpPort), "-t", wp.dir)
	eventually(t, "php -S to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, wp.server.out.String)

	began := time.Now()
	anon := wp.client(t)
	page := anon.post(t, "/wp-admin/install.php?step=2", url.Values{
		"weblog_title": {"Kaffebutiken"}, "user_name": {wp.user}, "admin_password": {wp.password}, "admin_password2": {wp.password},
		"pw_weak": {"1"}, "admin_email": {"admin@example.se"}, "blog_public": {"0"}, "language": {""},
	})
	if page.status != http.StatusOK || !strings.Contains(page.body, "<h1>Success!</h1>") {
		t.Fatalf("install.php: %d\n%s", page.status, tail(page.body, 3000))
	}
	t.Logf("WordPress %s installed through install.php in %v", coreVersion(in.core), time.Since(began).Round(time.Millisecond))
	wp.admin = wp.login(t)
	return wp
}

// linkTree copies src into dst with hard links where it can (the tree is
// read only to WordPress), minus Debian's wp-config.php and .htaccess,
// which point into /etc/wordpress.
func linkTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case rel == "wp-config.php" || rel == ".htaccess":
			return nil
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		if os.Link(path, target) == nil {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying WordPress: %v", err)
	}
}

// client is a browser of the site: cookies kept, redirects not followed
// (the test looks at them).
type client struct {
	base string
	http *http.Client
}

type page struct {
	status int
	header http.Header
	body   string
}

func (wp *wordpress) client(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{base: wp.url, http: &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) do(t *testing.T, req *http.Request) page {
	t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(t *testing.T, path string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(t, req)
}

func (c *client) post(t *testing.T, path string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(t, req)
}

// login signs in through wp-login.php, after the test cookie WordPress
// checks for.
func (wp *wordpress) login(t *testing.T) *client {
	t.Helper()
	c := wp.client(t)
	c.get(t, "/wp-login.php")
	p := c.post(t, "/wp-login.php", url.Values{"log": {wp.user}, "pwd": {wp.password}, "wp-submit": {"Log In"},
		"redirect_to": {wp.url + "/wp-admin/"}, "testcookie": {"1"}})
	if p.status != http.StatusFound || !strings.HasSuffix(p.header.Get("Location"), "/wp-admin/") {
		t.Fatalf("login: %d %s\n%s", p.status, p.header.Get("Location"), tail(p.body, 2000))
	}
	return c
}

var wpnonce = regexp.MustCompile(`name="_wpnonce" value="([0-9a-f]+)"`)

// nonce is the _wpnonce field of a form on the page.
func nonce(t *testing.T, p page) string {
	t.Helper()
	m := wpnonce.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no _wpnonce on the page (%d)\n%s", p.status, tail(p.body, 3000))
	}
	return m[1]
}

// installPlugin uploads the zip through Plugins → Add New → Upload Plugin
// and activates it with the link WordPress shows afterwards.
func (wp *wordpress) installPlugin(t *testing.T, zip string) {
	t.Helper()
	c := wp.admin
	form := c.get(t, "/wp-admin/plugin-install.php?tab=upload")
	n := nonce(t, form)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_wpnonce", n)
	_ = mw.WriteField("_wp_http_referer", "/wp-admin/plugin-install.php?tab=upload")
	_ = mw.WriteField("install-plugin-submit", "Install Now")
	fw, _ := mw.CreateFormFile("pluginzip", filepath.Base(zip))
	b, err := os.ReadFile(zip)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(b)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/wp-admin/update.php?action=upload-plugin", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	p := c.do(t, req)
	if !strings.Contains(p.body, "Plugin installed successfully.") {
		t.Fatalf("uploading %s: %d\n%s", zip, p.status, tail(stripTags(p.body), 3000))
	}
	activate := regexp.MustCompile(`href="([^"]*plugins\.php\?action=activate[^"]*)"`).FindStringSubmatch(p.body)
	if activate == nil {
		t.Fatalf("no activation link after the upload\n%s", tail(stripTags(p.body), 3000))
	}
	// A link relative to wp-admin/, as WordPress writes it.
	u, err := url.Parse(strings.ReplaceAll(activate[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(c.base + "/wp-admin/")
	p = c.get(t, base.ResolveReference(u).RequestURI())
	if p.status != http.StatusFound || !strings.Contains(p.header.Get("Location"), "activate=true") {
		t.Fatalf("activating: %d %s\n%s", p.status, p.header.Get("Location"), tail(stripTags(p.body), 3000))
	}
}

var tags = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]+>`)

// stripTags leaves a page's text, for failure messages.
func stripTags(s string) string {
	return strings.Join(strings.Fields(tags.ReplaceAllString(s, " ")), " ")
}

// coreVersion is $wp_version of the tree, for the log.
func coreVersion(core string) string {
	b, _ := os.ReadFile(filepath.Join(core, "wp-includes/version.php"))
	if m := regexp.MustCompile(`\$wp_version = '([^']+)'`).FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "(unknown version)"
}
