package pluginhost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// envOf is the value of key in env, a list of KEY=VALUE.
func envOf(t *testing.T, env []string, key string) string {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	t.Fatalf("%s not in the plugin's environment", key)
	return ""
}

// handshake runs a TLS handshake between client and server configurations
// over loopback TCP; it returns the key exchange the client agreed on and
// either side's error. (In TLS 1.3 the client may finish before the server
// has checked its certificate.)
func handshake(t *testing.T, client, server *tls.Config) (tls.CurveID, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- tls.Server(c, server).Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := tls.Client(c, client)
	cerr := tc.Handshake()
	if cerr != nil {
		c.Close()
	}
	return tc.ConnectionState().CurveID, errors.Join(cerr, <-done)
}

// The plugin serves with what the host gave it, as the SDK does
// (adapter.EnvTLS), and trusts only the host's certificate
// (PLUGIN_CLIENT_CERT): the handshake works both ways, on P-256 and X25519,
// even with a plugin that offers ML-KEM hybrids (an SDK's default); a server
// with any other certificate is refused, and so is a client without the
// host's key.
func TestHostTLSGivesBothEndsAP256CertificateAndTrustsOnlyThem(t *testing.T) {
	cfg, env, err := hostTLS()
	if err != nil {
		t.Fatal(err)
	}
	pair := envOf(t, env, adapter.EnvTLS)
	cert, err := tls.X509KeyPair([]byte(pair), []byte(pair))
	if err != nil {
		t.Fatalf("the plugin cannot read its certificate and key: %v", err)
	}
	hostPool := x509.NewCertPool()
	if !hostPool.AppendCertsFromPEM([]byte(envOf(t, env, envClientCert))) {
		t.Fatal("the plugin cannot read the host's certificate")
	}
	plugin := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: hostPool}
	for _, c := range append([]tls.Certificate{cert}, cfg.Certificates...) {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("key = %T, want ECDSA P-256", leaf.PublicKey)
		}
	}
	curve, err := handshake(t, cfg, plugin)
	if err != nil {
		t.Fatalf("host and plugin: %v", err)
	}
	if curve != tls.X25519 {
		t.Errorf("key exchange = %v, want X25519", curve)
	}

	// Another process's certificate, as a stranger on the socket would
	// present: the host refuses it (no system roots, only the plugin's).
	_, other, err := hostTLS()
	if err != nil {
		t.Fatal(err)
	}
	otherPair := envOf(t, other, adapter.EnvTLS)
	otherCert, err := tls.X509KeyPair([]byte(otherPair), []byte(otherPair))
	if err != nil {
		t.Fatal(err)
	}
	stranger := plugin.Clone()
	stranger.Certificates = []tls.Certificate{otherCert}
	if _, err := handshake(t, cfg, stranger); err == nil {
		t.Error("the host accepted a plugin certificate it did not make")
	}
	// And a client without the host's key: the plugin refuses it.
	anon := cfg.Clone()
	anon.Certificates = []tls.Certificate{otherCert}
	if _, err := handshake(t, anon, plugin); err == nil {
		t.Error("the plugin accepted a client certificate that is not the host's")
	}
}
