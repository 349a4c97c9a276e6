package pluginhost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// What a go-plugin server does with PLUGIN_CLIENT_CERT: it trusts exactly
// that certificate for client authentication. The host's must be a P-256
// key, valid for both ends, and trust nothing before the plugin answers.
func TestHostTLSIsAFreshP256CertificateThePluginCanPin(t *testing.T) {
	cfg, env, err := hostTLS()
	if err != nil {
		t.Fatal(err)
	}
	val, ok := strings.CutPrefix(env, envClientCert+"=")
	if !ok {
		t.Fatalf("env = %.40q, want %s=<PEM>", env, envClientCert)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(val)) {
		t.Fatal("the plugin cannot parse the certificate's PEM")
	}
	block, _ := pem.Decode([]byte(val))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key = %T, want ECDSA P-256", cert.PublicKey)
	}
	// A go-plugin server verifies the host as a client against the pool;
	// the host verifies the plugin's certificate by the name localhost.
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("as a client certificate: %v", err)
	}
	if cfg.ServerName != "localhost" || cfg.ClientAuth != tls.RequireAndVerifyClientCert || len(cfg.Certificates) != 1 {
		t.Errorf("config = server name %q, client auth %v, %d certificates", cfg.ServerName, cfg.ClientAuth, len(cfg.Certificates))
	}
	if cfg.RootCAs == nil || !cfg.RootCAs.Equal(x509.NewCertPool()) {
		t.Error("before the plugin answers, the host must trust no root (never the system's)")
	}
	_, env2, err := hostTLS()
	if err != nil {
		t.Fatal(err)
	}
	if env2 == env {
		t.Error("two plugin processes got the same certificate")
	}
}
