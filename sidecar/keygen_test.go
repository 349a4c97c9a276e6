package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

func TestKeygen(t *testing.T) {
	// A directory that does not exist yet: keygen creates it, private.
	dir := filepath.Join(t.TempDir(), "secrets", "trustly")
	r := runCLI(t, "", "keygen", "--out-dir", dir)
	privPath, pubPath := filepath.Join(dir, privateKeyFile), filepath.Join(dir, publicKeyFile)
	expect{code: 0, stdout: []string{privPath, pubPath, "backoffice", "fingerprint SHA256:"}}.check(t, r)

	privPEM, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(privPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("private key is not a PKCS#8 PEM block")
	}
	priv, err := trustly.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatalf("private key does not load: %v", err)
	}
	if priv.N.BitLen() != 2048 {
		t.Errorf("default key has %d bits, want 2048", priv.N.BitLen())
	}
	pub, err := trustly.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatalf("public key does not load: %v", err)
	}
	if !pub.Equal(&priv.PublicKey) {
		t.Error("the public file is not the private key's public half")
	}
	fp, err := fingerprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stdout, fp) {
		t.Errorf("printed fingerprint is not the public key's %s\n%s", fp, r.stdout)
	}

	if strings.Contains(r.stdout+r.stderr, privateKeyBody(t, privPath)) || strings.Contains(r.stdout+r.stderr, "-----BEGIN") {
		t.Errorf("keygen printed key material:\n%v", r)
	}

	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{privPath: 0o600, pubPath: 0o644, dir: 0o700} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			// umask can only narrow the public file's mode; never widen the private one.
			if got := fi.Mode().Perm(); got&^want != 0 || (path == privPath && got != want) {
				t.Errorf("%s has mode %o, want %o", path, got, want)
			}
		}
	}
}

func TestKeygenBits(t *testing.T) {
	if testing.Short() {
		t.Skip("3072-bit key generation is slow")
	}
	dir := t.TempDir()
	expect{code: 0, stdout: []string{"RSA-3072"}}.check(t, runCLI(t, "", "keygen", "--bits", "3072", "--out-dir", dir))
	b, err := os.ReadFile(filepath.Join(dir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	k, err := trustly.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if k.N.BitLen() != 3072 {
		t.Errorf("key has %d bits, want 3072", k.N.BitLen())
	}
}

func TestKeygenRefusesToOverwrite(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
	}{
		{"an existing private key", []string{privateKeyFile}},
		{"an existing public key", []string{publicKeyFile}},
		{"an existing pair", []string{privateKeyFile, publicKeyFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.existing {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("precious "+f), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := runCLI(t, "", "keygen", "--out-dir", dir)
			expect{code: 1, stderr: []string{"already exists", "refusing to overwrite"}, stdoutNone: true}.check(t, r)
			for _, f := range []string{privateKeyFile, publicKeyFile} {
				b, err := os.ReadFile(filepath.Join(dir, f))
				existed := strings.Contains(strings.Join(tt.existing, " "), f)
				switch {
				case existed && string(b) != "precious "+f:
					t.Errorf("%s was changed to %q", f, b)
				case !existed && err == nil:
					t.Errorf("%s was written although keygen failed", f)
				}
			}
		})
	}
}
