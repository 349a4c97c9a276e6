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
)

// go-plugin's AutoMTLS, host half, done here: a fresh self-signed
// certificate per plugin process, its PEM handed to the plugin in
// PLUGIN_CLIENT_CERT, and the plugin's own certificate (sent back on the
// handshake line, which go-plugin loads into RootCAs and ClientCAs) the only
// one trusted. The plugin half is go-plugin's, unchanged, so every adapter
// built with the SDK (or any go-plugin server) works as before.
//
// Why not AutoMTLS itself: it makes the host's key on P-521, whose key
// generation, self-check of the certificate and handshake signature cost
// about 10 ms of CPU here (Go's P-521 is several times slower than P-256)
// on the path to ready, and the plugin then verifies a P-521 signature too.
// P-256 is as good a fit for a certificate that lives as long as one local
// connection.

// envClientCert is where a go-plugin server looks for the host's
// certificate; its presence is what makes the plugin answer with one.
const envClientCert = "PLUGIN_CLIENT_CERT"

// hostTLS returns the TLS configuration for one plugin process and the
// KEY=VALUE to add to that process's environment.
func hostTLS() (*tls.Config, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("plugin certificate: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, "", fmt.Errorf("plugin certificate: %w", err)
	}
	const host = "localhost" // the name go-plugin's server certificate carries
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour), // the plugin process may run that long
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // the plugin trusts it as its own root, so it must be one
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, "", fmt.Errorf("plugin certificate: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		// Until the plugin's certificate arrives, trust nothing (never the
		// system's roots); go-plugin replaces both pools with it.
		RootCAs:    x509.NewCertPool(),
		ClientCAs:  x509.NewCertPool(),
		ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS12,
		ServerName: host,
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return cfg, envClientCert + "=" + string(certPEM), nil
}
