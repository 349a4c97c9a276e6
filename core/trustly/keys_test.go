package trustly

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

var (
	merchantKeyOnce sync.Once
	merchantKey     *rsa.PrivateKey
)

// testMerchantKey is one RSA-2048 key shared by the package's tests: key
// generation is slow and its randomness is not what they test.
func testMerchantKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	merchantKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		merchantKey = k
	})
	return merchantKey
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePrivateKey(t *testing.T) {
	key := testMerchantKey(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecSEC1, _ := x509.MarshalECPrivateKey(ec)
	short, _ := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // deliberately too short
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1, 2, 3}})

	tests := []struct {
		name string
		pem  []byte
		want error
	}{
		{"PKCS#1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), nil},
		{"PKCS#8", pemOf("PRIVATE KEY", pkcs8), nil},
		{"PKCS#8 encrypted", pemOf("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), ErrEncryptedKey},
		{"legacy OpenSSL encryption", legacyEncrypted, ErrEncryptedKey},
		{"EC key in PKCS#8", pemOf("PRIVATE KEY", ecPKCS8), ErrNotRSA},
		{"EC key in SEC1", pemOf("EC PRIVATE KEY", ecSEC1), ErrNotRSA},
		{"RSA-1024", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(short)), ErrKeyTooShort},
		{"a public key", pemOf("PUBLIC KEY", pub), ErrPublicNotPriv},
		{"empty", nil, ErrNoPEM},
		{"not PEM", []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), ErrNoPEM},
		{"unknown block", pemOf("SOMETHING", []byte{1}), ErrUnknownPEMType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tt.pem)
			if tt.want == nil {
				if err != nil || !got.Equal(key) {
					t.Fatalf("got %v, %v; want the key", got != nil, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ParsePrivateKey(pemOf("RSA PRIVATE KEY", []byte("garbage"))); err == nil {
		t.Error("garbage DER accepted")
	}
}

func TestParsePublicKey(t *testing.T) {
	key := testMerchantKey(t)
	pkixDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "merchant"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pem  []byte
		want error
	}{
		{"PKIX", pemOf("PUBLIC KEY", pkixDER), nil},
		{"PKCS#1", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), nil},
		{"certificate", pemOf("CERTIFICATE", cert), nil},
		{"EC public key", pemOf("PUBLIC KEY", ecPub), ErrNotRSA},
		{"a private key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), ErrPrivNotPublic},
		{"empty", []byte("  \n"), ErrNoPEM},
		{"unknown block", pemOf("X509 CRL", []byte{1}), ErrUnknownPEMType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKey(tt.pem)
			if tt.want == nil {
				if err != nil || !got.Equal(&key.PublicKey) {
					t.Fatalf("got %v, %v; want the key", got != nil, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	for _, e := range []Environment{Test, Live} {
		if e.PublicKey() == nil || e.PublicKey().N.BitLen() != 2048 {
			t.Errorf("%s built-in key missing or not 2048 bits", e)
		}
	}
}

func TestMarshalKeysRoundTrip(t *testing.T) {
	key := testMerchantKey(t)
	priv, err := MarshalPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := MarshalPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParsePrivateKey(priv)
	if err != nil || !k2.Equal(key) {
		t.Fatalf("private round trip: %v", err)
	}
	p2, err := ParsePublicKey(pub)
	if err != nil || !p2.Equal(&key.PublicKey) {
		t.Fatalf("public round trip: %v", err)
	}
}
