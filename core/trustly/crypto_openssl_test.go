//go:build openssl && !boringcrypto

package trustly

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"testing"
)

// The openssl build's own paths: keys turned into libcrypto's form once, a
// key without CRT values, one OpenSSL's binding cannot take, a wrong key.
func TestOpenSSLKeys(t *testing.T) {
	key, err := katKey()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha1.Sum([]byte("pending" + "uuid" + "data"))
	want, err := rsa.SignPKCS1v15(nil, key, crypto.SHA1, digest[:])
	if err != nil {
		t.Fatal(err)
	}

	t.Run("same bytes as Go's code, key converted once", func(t *testing.T) {
		for range 3 {
			got, err := signSHA1(key, digest[:])
			if err != nil || string(got) != string(want) {
				t.Fatalf("signSHA1 = %x, %v; want Go's %x", got, err, want)
			}
		}
		first, _ := privateKeys.get(key, opensslPrivate)
		again, _ := privateKeys.get(key, opensslPrivate)
		if first == nil || first != again {
			t.Errorf("the key was converted again (%p, %p)", first, again)
		}
	})

	t.Run("a key without CRT values", func(t *testing.T) {
		bare := &rsa.PrivateKey{PublicKey: key.PublicKey, D: key.D, Primes: key.Primes}
		got, err := signSHA1(bare, digest[:])
		if err != nil || string(got) != string(want) {
			t.Fatalf("signSHA1 = %x, %v; want Go's %x", got, err, want)
		}
		if bare.Precomputed.Dp != nil {
			t.Error("signing wrote CRT values into the caller's key")
		}
	})

	t.Run("three primes: Go's code, as in the default build", func(t *testing.T) {
		//lint:ignore SA1019 such keys still parse, and the build must sign with them
		three, err := rsa.GenerateMultiPrimeKey(rand.Reader, 3, 2048)
		if err != nil {
			t.Fatal(err)
		}
		want, err := rsa.SignPKCS1v15(nil, three, crypto.SHA1, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		got, err := signSHA1(three, digest[:])
		if err != nil || string(got) != string(want) {
			t.Fatalf("signSHA1 = %x, %v; want Go's %x", got, err, want)
		}
		if err := verifySHA1(&three.PublicKey, digest[:], got); err != nil {
			t.Errorf("OpenSSL refused the three-prime key's signature: %v", err)
		}
	})

	t.Run("verify: right key, wrong key, changed digest", func(t *testing.T) {
		if err := verifySHA1(&key.PublicKey, digest[:], want); err != nil {
			t.Fatalf("the right key refused: %v", err)
		}
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifySHA1(&other.PublicKey, digest[:], want); err == nil {
			t.Error("another key verified")
		}
		changed := digest
		changed[0] ^= 1
		if err := verifySHA1(&key.PublicKey, changed[:], want); err == nil {
			t.Error("a changed digest verified")
		}
		if err := Verify(&other.PublicKey, "m", "u", map[string]any{}, "AAAA"); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify with a bad signature = %v, want ErrBadSignature", err)
		}
	})
}
