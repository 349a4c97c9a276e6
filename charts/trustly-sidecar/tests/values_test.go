package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadValues renders the chart with one wrong value at a time: each must fail with a
// message that names the problem, and none may print a secret. The schema's checks fail
// helm lint too; the templates' checks (those that compare values or would print a
// secret) fail helm template and helm install, while helm lint only logs them, by
// helm's design.
// TestPublicBaseURLOrigins: an origin, with or without a trailing slash and a port, renders
// and is passed on as is.
func TestPublicBaseURLOrigins(t *testing.T) {
	for _, origin := range []string{"https://pay.example.com", "https://pay.example.com/", "https://pay.example.com:8443"} {
		out, err := helm(t, "template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/standalone-values.yaml"), "--set", "publicBaseURL="+origin)
		if err != nil {
			t.Errorf("publicBaseURL %s refused: %v\n%s", origin, err, out)
			continue
		}
		if !strings.Contains(out, "value: \""+origin+"\"") {
			t.Errorf("publicBaseURL %s is not passed to the sidecar", origin)
		}
	}
}

func TestBadValues(t *testing.T) {
	const base = "ci/standalone-values.yaml"
	const shortSecret = "tooShortSecret"
	for _, c := range []struct {
		name   string
		values string
		want   []string
	}{
		{"unknown environment", "trustly: {environment: PROD}", []string{"/trustly/environment", "TEST", "LIVE", "SIM"}},
		{"http base URL on TEST", "publicBaseURL: http://pay.example.com", []string{"/publicBaseURL", "https://"}},
		{"a path in publicBaseURL", "publicBaseURL: https://shop.example.com/payments", []string{"/publicBaseURL", "does not match pattern"}},
		{"a path of one segment with a slash", "publicBaseURL: https://shop.example.com/pay/", []string{"/publicBaseURL"}},
		{"a query in publicBaseURL", "publicBaseURL: https://shop.example.com?x=1", []string{"/publicBaseURL"}},
		{"a typo in a key", "replicas: 3", []string{"at ''", "additional properties 'replicas' not allowed"}},
		{"unknown mode", "mode: daemonset", []string{"/mode", "standalone", "sidecar"}},
		{"sentinel without master", "redis: {mode: sentinel}", []string{"/redis/masterName", "minLength"}},
		{"database on a cluster", "redis: {mode: cluster, db: 2}", []string{"/redis/db"}},
		{"bad redis address", "redis: {addrs: [redis]}", []string{"/redis/addrs/0"}},
		{"no redis address", "redis: {addrs: []}", []string{"/redis/addrs", "minItems"}},
		{"secret as a plain variable", "extraEnv: [{name: TRUSTLY_SIDECAR_REDIS_PASSWORD, value: x}]", []string{"/extraEnv/0/name"}},
		{"writable root file system", "securityContext: {readOnlyRootFilesystem: false}", []string{"/securityContext/readOnlyRootFilesystem"}},
		{"the private listener behind the Ingress", "ingress: {paths: [/]}", []string{"/ingress/paths/0"}},
		{"same port twice", "ports: {public: 8080, private: 8080}", []string{"ports.public and ports.private must differ"}},
		{"grace shorter than shutdown", "terminationGracePeriodSeconds: 26", []string{"terminationGracePeriodSeconds 26 is too short", "= 27"}},
		{"shutdown longer than the grace", "shutdown: {preStopSleepSeconds: 0, timeoutSeconds: 40}", []string{"terminationGracePeriodSeconds 30 is too short"}},
		{"no shutdown timeout", "shutdown: {timeoutSeconds: 0}", []string{"/shutdown/timeoutSeconds"}},
		{"adapter neither a name nor an absolute path", "adapter: ./woocommerce", []string{"/adapter"}},
		{"adapter setting with a lower-case name", "adapter: generic\nadapterEnv: {callback_url: x}", []string{"at '", "invalid propertyName 'callback_url'"}},
		{"the sidecar's own setting passed to an adapter", "adapter: generic\nadapterEnv: {TRUSTLY_SIDECAR_SHOP_API_TOKEN: x}", []string{"TRUSTLY_SIDECAR_ variables are the sidecar's own"}},
		{"adapter settings without an adapter", "adapterEnv: {TRUSTLY_GENERIC_CALLBACK_URL: 'https://shop.example/cb'}", []string{"there is no adapter to pass them to"}},
		{"platform secret without an adapter", "secrets: {platform: {TRUSTLY_GENERIC_WEBHOOK_SECRET: abcdefabcdefabcdef}}", []string{"there is no adapter to pass them to"}},
		{"missing password", "secrets: {trustlyPassword: ''}", []string{"secrets.trustlyPassword is required"}},
		{"short notification secret", "secrets: {notificationSecret: " + shortSecret + "}", []string{"secrets.notificationSecret must be at least 16"}},
		{"short shop token", "secrets: {shopApiToken: " + shortSecret + "}", []string{"secrets.shopApiToken must be at least 16"}},
		{"not a PEM key", "secrets: {merchantPrivateKey: " + shortSecret + "}", []string{"secrets.merchantPrivateKey must be a PEM private key"}},
		{"existing secret and values", "secrets: {existingSecret: mine}", []string{"secrets.trustlyPassword is set but secrets.existingSecret"}},
		{"redis auth without password", "redis: {auth: {enabled: true}}", []string{"redis.auth.enabled needs secrets.redisPassword"}},
		{"embedded store on LIVE", "trustly: {environment: LIVE}\nredis: {mode: embedded}", []string{"LIVE needs a real Redis"}},
		{"embedded store with replicas", "redis: {mode: embedded}", []string{"run one replica"}},
		{"SIM without its key", "trustly: {environment: SIM}", []string{"SIM needs trustly.url"}},
		{"public port open to nobody named", "networkPolicy: {publicFrom: []}", []string{"networkPolicy.publicFrom is empty", "publicFromAnywhere"}},
		{"SMTP without a sender", "smtp: {addr: 'smtp.example.com:587'}", []string{"smtp.addr needs smtp.from"}},
		{"SMTP address without a port", "smtp: {addr: smtp.example.com, from: pay@shop.example}", []string{"/smtp/addr"}},
		{"SMS json without a URL", "sms: {gateway: json, from: Shop}", []string{"sms.gateway json needs sms.url"}},
		{"SMTP through extraEnv", "extraEnv: [{name: TRUSTLY_SIDECAR_SMTP_ADDR, value: 'smtp.example.com:587'}]", []string{"use the values smtp.* and sms.*"}},
		{"the old httpsTo", "networkPolicy: {httpsTo: []}", []string{"additional properties 'httpsTo' not allowed"}},
		{"a secret among the adapter's plain settings", "adapter: generic\nadapterEnv: {TRUSTLY_GENERIC_WEBHOOK_SECRET: abcdefabcdefabcdef}", []string{"adapterEnv.TRUSTLY_GENERIC_WEBHOOK_SECRET looks like a secret", "TRUSTLY_GENERIC_WEBHOOK_SECRET_FILE"}},
		{"an API key among the adapter's plain settings", "adapter: /adapters/x\nadapterEnv: {SHOP_API_KEY: abcdefabcdefabcdef}", []string{"adapterEnv.SHOP_API_KEY looks like a secret"}},
		{"SMTP user without password", "smtp: {addr: 'smtp.example.com:587', from: pay@shop.example, username: shop}", []string{"smtp.username needs secrets.smtpPassword"}},
		{"Twilio without its token", "sms: {gateway: twilio, username: AC1, from: Shop}", []string{"needs secrets.smsPassword"}},
		{"ServiceMonitor without a metrics token", "metrics: {serviceMonitor: {enabled: true}}", []string{"metrics.serviceMonitor.enabled needs secrets.metricsToken"}},
		{"the shop token as metrics token", "secrets: {metricsToken: shop-api-token-for-chart-tests}", []string{"secrets.metricsToken equals secrets.shopApiToken"}},
		{"short metrics token", "secrets: {metricsToken: " + shortSecret + "}", []string{"secrets.metricsToken must be at least 16"}},
		{"a PDB that blocks drains with one replica", "replicaCount: 1\npodDisruptionBudget: {minAvailable: 1, maxUnavailable: null}", []string{"podDisruptionBudget.minAvailable 1 with 1 replica(s) lets no pod be evicted"}},
		{"a PDB that blocks drains under an HPA", "autoscaling: {enabled: true, minReplicas: 1}\npodDisruptionBudget: {minAvailable: 1, maxUnavailable: null}", []string{"with 1 replica(s) lets no pod be evicted"}},
		{"a PDB of maxUnavailable 0", "podDisruptionBudget: {maxUnavailable: 0}", []string{"maxUnavailable 0 lets no pod be evicted"}},
		{"a PDB with both bounds", "podDisruptionBudget: {minAvailable: 1}", []string{"not both"}},
		{"adapter and adapterImage", "adapter: /x/y\nadapterImage: {repository: r.example/a, tag: '1'}", []string{"adapter and adapterImage are both set"}},
		{"adapterImage without tag", "adapterImage: {repository: r.example/a}", []string{"needs adapterImage.tag or adapterImage.digest"}},
		{"ingress without host", "ingress: {host: ''}", []string{"ingress.host is required"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(bad, []byte(c.values+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmds := [][]string{{"template", "shop", chartDir, "-f", filepath.Join(chartDir, base), "-f", bad}}
			if bySchema := strings.HasPrefix(c.want[0], "/") || strings.HasPrefix(c.want[0], "at "); bySchema {
				cmds = append(cmds, []string{"lint", "--strict", chartDir, "-f", filepath.Join(chartDir, base), "-f", bad})
			}
			for _, cmd := range cmds {
				out, err := helm(t, cmd...)
				if err == nil {
					t.Fatalf("helm %s accepted %q", cmd[0], c.values)
				}
				for _, w := range c.want {
					if !strings.Contains(out, w) {
						t.Errorf("helm %s: message lacks %q:\n%s", cmd[0], w, out)
					}
				}
				if strings.Contains(out, shortSecret) {
					t.Errorf("helm %s printed the secret:\n%s", cmd[0], out)
				}
			}
		})
	}
}

// TestREADMEPlatformExamplesRender renders every platform example of the chart README
// over the standalone values: a setting the chart refuses (a plain name it takes for a
// secret, a path the Ingress does not take) fails here rather than at a shop.
func TestREADMEPlatformExamplesRender(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "No adapter image is published yet")
	if ok {
		_, rest, ok = strings.Cut(rest, "```yaml\n")
	}
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("the README's platform examples are gone")
	}
	docs := strings.Split(block, "\n---\n")
	if len(docs) < 4 {
		t.Fatalf("%d platform examples, want one per built-in platform", len(docs))
	}
	for _, doc := range docs {
		name, _, _ := strings.Cut(strings.TrimSpace(doc), "\n")
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "example.yaml")
			if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := helm(t, "template", "shop", chartDir, "-f", filepath.Join(chartDir, "ci/standalone-values.yaml"), "-f", f)
			if err != nil {
				t.Fatalf("refused: %v\n%s", err, out)
			}
			if !strings.Contains(out, "name: TRUSTLY_SIDECAR_ADAPTER") {
				t.Errorf("no adapter is passed to the sidecar")
			}
		})
	}
}
