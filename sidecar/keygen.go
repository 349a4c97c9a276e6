package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

const (
	privateKeyFile = "merchant_private.pem"
	publicKeyFile  = "merchant_public.pem"
)

func runKeygen(_ context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "",
		"Creates the merchant RSA key pair: "+privateKeyFile+" (PKCS#8, mode 0600, stays\n"+
			"with the sidecar) and "+publicKeyFile+" (upload it in Trustly's backoffice).\n"+
			"Existing files are never overwritten.")
	outDir := fl.String("out-dir", ".", "`DIR`ectory to write the two files to; created (mode 0700) if missing")
	bits := fl.Int("bits", 2048, "RSA key size: 2048 (what Trustly issues), 3072 or 4096")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	switch *bits {
	case 2048, 3072, 4096:
	default:
		return cli.UsageError("%s: --bits %d: want 2048, 3072 or 4096", name, *bits)
	}
	privPath := filepath.Join(*outDir, privateKeyFile)
	pubPath := filepath.Join(*outDir, publicKeyFile)
	// Checked before the slow key generation so a mistake is reported at once;
	// the O_EXCL opens below still guard against a file appearing meanwhile.
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %s already exists; refusing to overwrite a key (move it away or choose another --out-dir)", name, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := os.MkdirAll(*outDir, 0o700); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	key, err := rsa.GenerateKey(rand.Reader, *bits)
	if err != nil {
		return fmt.Errorf("%s: generate key: %w", name, err)
	}
	privPEM, err := trustly.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	pubPEM, err := trustly.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := writeNewFile(privPath, privPEM, 0o600); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := writeNewFile(pubPath, pubPEM, 0o644); err != nil {
		// A private key without its public half is useless and would block
		// the next attempt; it never left this machine, so drop it.
		os.Remove(privPath)
		return fmt.Errorf("%s: %w", name, err)
	}
	fp, err := fingerprint(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = fmt.Fprintf(e.Stdout, `Wrote %s (RSA-%d private key, mode 0600: keep it secret, it stays with the sidecar)
Wrote %s (the public half, fingerprint %s)

Next: upload %s in Trustly's backoffice (or send it to your Trustly
contact) for the environment you will use, TEST or LIVE. Trustly verifies every
request you send with it. Never send the private key to anyone.
`, privPath, *bits, pubPath, fp, publicKeyFile)
	return err
}

// writeNewFile creates path with perm and fails if it exists, so a key is
// never replaced by accident. The data is synced: losing a freshly uploaded
// key to a crash would lock the merchant out.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// fingerprint identifies a public key in the SSH style (SHA-256 of the PKIX
// DER), so the key uploaded at Trustly can be matched to the file.
func fingerprint(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}
