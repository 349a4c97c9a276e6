package trustly

import (
	"crypto/rsa"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
)

// These tests, with the Trustly vectors and round trips the Makefile's
// crypto-test names, run three times in `make test`: with Go's own crypto
// (unit), under GOEXPERIMENT=boringcrypto and with the openssl tag
// (crypto-test), so every build is held to the same bytes.

// katKey is a merchant key made for these tests only (openssl genrsa 2048).
// The known answers below were signed with it by OpenSSL, an implementation
// independent of Go's and BoringCrypto's (and the same library the openssl
// build calls, here held to the bytes Go's code makes):
//
//	printf %s PLAINTEXT | openssl dgst -sha1 -sign testdata/kat-merchant-key.pem | base64 -w0
var katKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	b, err := os.ReadFile("testdata/kat-merchant-key.pem")
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(b)
})

func testKATKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := katKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const creditUUID = "f1b77aac-516d-4b89-a125-c005f4c020f0"

func TestSignKnownAnswers(t *testing.T) {
	key := testKATKey(t)
	credit, err := ParseMessage(readTestdata(t, creditVector))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		data   any
		want   string // base64, from OpenSSL
	}{
		{"reply OK to Trustly's credit", "credit", map[string]any{"status": "OK"},
			"VlIAeFne+w86/x18ci7ftrq7/ij1SE+gIUf7l7qxT8FmM59k4jQAYUX2Nku5GXC02sOtpY78h6l9xIgkIKNdkSL0rbif11TXC/9/z48TQkngu6TdgkcJ5SCSnQohxavDTAzG5wCybwO8KZ+wsrricFb+0qOw1uNau+FlcRbUSw5gq2+4M04jUIwzDctrFg+90QDoO1AYyvctzy1Hr0GIDTRCg+JKQEy5D5Z8rf/hhapX7ebEHK4wxNirlUfFXz1PwKUqq7CxBWpRT7vF27SNxnBP/EKe+kZOi1IeK9ljxMPh+OQvKvBsUrWTKu4pxy519ToSI5idYBsCw4bE1c3gdw=="},
		{"reply FAILED to Trustly's credit", "credit", map[string]any{"status": "FAILED"},
			"kDUZU21YNmGzHJ1YtLMhk+EYdGGlb8OrQ1oShNwQB9JvM1u2+2BsStwNq2nfhzaT6q88sc9PNxIHHJ6yOyiJEnxQFF/mSTIWjSl7Vap9D7I3EHiGi/7+fYQsxeQr8Nk7m+7ldsmxpVPLAu2ArmqsBWUnAlomJ9Y296TUNFdrSiTbUrLpZEI8ErYkT6Ow66Q7HOWKvHQFIGHCMN/9wXQFoAVmKD23W7bqUAGJIkJUZMwUwutFYBz16kmqk6P/IHNjRRX4C6ymoer5x1WpXYjRFU9N1TPLFx4r1tI2EHeTMQFxYj8aWJ53Wb7QEsftl+VWCa/u32DHu8fnhjWzybL2UQ=="},
		{"Trustly's credit notification data", "credit", credit.Data(),
			"efkaUSveKCZpW+s8EQ3xVz6G2gohWi3jZR50CSOed0z4y0lHgHYZL+KsiVSHit069DBRclbPGlEOdmf7wATWAasUzQ+L3myFh43NBIpuyOVqtIBpLnRsVL0TwegHa4ybxB2nVQcWz/IE+WB8G9W2MclLGQjaR4RpI8UPEzNTdELIudsdZcNscnjQ3P9xFmvbHkKKtTcgPR6UAFcC96Xp4vVthfOyyMY6NZ6YgEspezbXf7RzXMZFWV0hSFsfux1uUCUiJZYjCSk7+1UbaFfs2IALrunnGgkTSpL9jHv8a0GOM53CqP6pIpaXbkCQMQn09Xgzc8AaipAbsUwVxXEvTw=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sign(key, tt.method, creditUUID, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("signature (%s)\n got %s\nwant %s", CryptoBackend(), got, tt.want)
			}
			if err := Verify(&key.PublicKey, tt.method, creditUUID, tt.data, tt.want); err != nil {
				t.Errorf("OpenSSL's signature does not verify (%s): %v", CryptoBackend(), err)
			}
			forged := []byte(tt.want)
			forged[10] ^= 1 // still base64: one bit of the signature differs
			if err := Verify(&key.PublicKey, tt.method, creditUUID, tt.data, string(forged)); !errors.Is(err, ErrBadSignature) {
				t.Errorf("altered signature: err = %v, want ErrBadSignature", err)
			}
		})
	}
}

// The reply the sidecar sends carries the known answer too: the whole path
// from notification to signed body, not only Sign.
func TestReplyKnownAnswer(t *testing.T) {
	v, err := NewVerifier(Test)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ParseNotification(readTestdata(t, creditVector), v)
	if err != nil {
		t.Fatalf("Trustly's TEST vector does not verify (%s): %v", CryptoBackend(), err)
	}
	body, err := NewReply(testKATKey(t), n, ReplyOK)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"result":{"signature":"VlIAeFne+w86/x18ci7ftrq7/ij1SE+gIUf7l7qxT8FmM59k4jQAYUX2Nku5GXC02sOtpY78h6l9xIgkIKNdkSL0rbif11TXC/9/z48TQkngu6TdgkcJ5SCSnQohxavDTAzG5wCybwO8KZ+wsrricFb+0qOw1uNau+FlcRbUSw5gq2+4M04jUIwzDctrFg+90QDoO1AYyvctzy1Hr0GIDTRCg+JKQEy5D5Z8rf/hhapX7ebEHK4wxNirlUfFXz1PwKUqq7CxBWpRT7vF27SNxnBP/EKe+kZOi1IeK9ljxMPh+OQvKvBsUrWTKu4pxy519ToSI5idYBsCw4bE1c3gdw==","uuid":"f1b77aac-516d-4b89-a125-c005f4c020f0","method":"credit","data":{"status":"OK"}},"version":"1.1"}`
	if string(body) != want {
		t.Errorf("reply (%s)\n got %s\nwant %s", CryptoBackend(), body, want)
	}
}

// builtWithTag reads the build's tags from the binary's build information,
// apart from the constraints that picked the code.
func builtWithTag(tag string) bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), tag) {
			return true
		}
	}
	return false
}

// CryptoBackend names what the build really uses: the toolchain marks a
// GOEXPERIMENT build in runtime.Version ("X:boringcrypto"), a fact this test
// reads independently of the build constraint that picks the implementation.
func TestCryptoBackend(t *testing.T) {
	got := CryptoBackend()
	boringBuild := strings.Contains(runtime.Version(), "X:boringcrypto")
	boringPlatform := runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64")
	switch {
	case builtWithTag("openssl"):
		// The machines this project tests on have OpenSSL 3's libcrypto
		// (Debian's libssl3): a fallback to Go's code is a failure here.
		if !strings.HasPrefix(got, "openssl (OpenSSL ") {
			t.Errorf("CryptoBackend() = %q in an openssl build, want openssl (OpenSSL …)", got)
		}
	case boringBuild && boringPlatform:
		if got != "boringcrypto" {
			t.Errorf("CryptoBackend() = %q in a boringcrypto build on %s/%s, want boringcrypto", got, runtime.GOOS, runtime.GOARCH)
		}
	case boringBuild:
		if !strings.HasPrefix(got, "go (boringcrypto build") {
			t.Errorf("CryptoBackend() = %q, want the fallback named", got)
		}
	default:
		if got != "go" && !strings.HasPrefix(got, "go, FIPS 140-3 mode") {
			t.Errorf("CryptoBackend() = %q, want go", got)
		}
	}
	t.Logf("crypto: %s (%s)", got, runtime.Version())
}
