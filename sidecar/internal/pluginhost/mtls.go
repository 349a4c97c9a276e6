package pluginhost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// go-plugin's AutoMTLS, done by the host on P-256: for each plugin process
// a fresh self-signed certificate for the host, its PEM handed to the
// plugin in PLUGIN_CLIENT_CERT, and one for the plugin, handed over with
// its key in adapter.EnvTLS; each end trusts only the other's.
//
// Why not AutoMTLS itself: it makes both keys on P-521. Key generation, the
// certificate's self-check, the handshake signature and its check, and Go
// computing its P-521 table in each process first (13 ms of CPU here),
// were about 40 % of the CPU an adapter's start took, on 2 cores. P-256 is as
// good a fit for certificates that live as long as one local connection.
//
// An adapter built with an SDK older than adapter.EnvTLS ignores it, and
// go-plugin's server half makes its P-521 certificate as before and sends
// it on the handshake line; go-plugin then trusts that one instead (it
// replaces RootCAs and ClientCAs), so such adapters keep working.

// envClientCert is where a go-plugin server looks for the host's
// certificate; its presence is what turns mutual TLS on.
const envClientCert = "PLUGIN_CLIENT_CERT"

// tlsName is the name both certificates carry: the one go-plugin's own
// certificates carry, and the host's ServerName.
const tlsName = "localhost"

// hostTLS returns the TLS configuration for one plugin process and the
// KEY=VALUE pairs to add to that process's environment.
func hostTLS() (*tls.Config, []string, error) {
	hostDER, hostKey, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	pluginDER, pluginKey, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	pluginCert, err := x509.ParseCertificate(pluginDER)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(pluginKey)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin certificate: %w", err)
	}
	roots := x509.NewCertPool() // never the system's
	roots.AddCert(pluginCert)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{hostDER}, PrivateKey: hostKey}},
		RootCAs:      roots,
		ClientCAs:    roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		// Plain X25519, not Go's default ML-KEM hybrid: the connection
		// joins two processes on one machine (go-plugin's local socket)
		// and never crosses a network, so there is no traffic to record
		// now and decrypt later; the hybrid added 0.6-0.9 ms to the
		// handshake at an adapter's start on the bench's 2 cores.
		CurvePreferences: []tls.CurveID{tls.X25519},
		ServerName:       tlsName,
	}
	pair := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pluginDER})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	env := []string{
		envClientCert + "=" + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hostDER})),
		adapter.EnvTLS + "=" + pair,
	}
	return cfg, env, nil
}

// selfSigned makes a P-256 key and a certificate for tlsName that is its
// own root, usable by either end, as go-plugin's are.
func selfSigned() ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin certificate: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("plugin certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: tlsName},
		DNSNames:              []string{tlsName},
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour), // the plugin process may run that long
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // each end trusts the other's as its own root
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin certificate: %w", err)
	}
	return der, key, nil
}
