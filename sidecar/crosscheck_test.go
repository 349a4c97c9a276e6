package main

// Cross-checks against implementations that share no code with ours:
// OpenSSL's RSA-SHA1 and a small Python serializer written from the wire
// contract. Trustly's own clients compute exactly this, so agreement here is
// what makes our signatures acceptable to Trustly.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "openssl", args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// signatureOf returns the base64 signature at the place the message's kind keeps it.
func signatureOf(t *testing.T, message, sigPath string) string {
	t.Helper()
	var tree map[string]any
	if err := json.Unmarshal([]byte(message), &tree); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	sig, ok := dig(tree, sigPath).(string)
	if !ok || sig == "" {
		t.Fatalf("no signature at %s", sigPath)
	}
	return sig
}

func TestOpenSSLCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	type keyPair struct{ priv, pub string }
	pairs := map[string]keyPair{
		"key made by keygen": {filepath.Join(keyDir, privateKeyFile), filepath.Join(keyDir, publicKeyFile)},
	}
	for name, gen := range map[string]func(out string) []string{
		"PKCS#8 key made by openssl": func(out string) []string {
			return []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", out}
		},
		"PKCS#1 key made by openssl": func(out string) []string {
			return []string{"genrsa", "-traditional", "-out", out, "2048"} // the size must come last
		},
	} {
		priv := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".pem")
		if out, err := openssl(t, gen(priv)...); err != nil {
			t.Fatalf("openssl %v: %v\n%s", gen(priv), err, out)
		}
		pub := priv + ".pub"
		if out, err := openssl(t, "pkey", "-in", priv, "-pubout", "-out", pub); err != nil {
			t.Fatalf("openssl pkey: %v\n%s", err, out)
		}
		pairs[name] = keyPair{priv, pub}
	}

	for keyName, kp := range pairs {
		for _, f := range fixtures {
			t.Run(keyName+"/"+f.kind, func(t *testing.T) {
				work := t.TempDir()
				signed := runCLI(t, "", "signature", "sign", "--private-key", kp.priv, testdata(f.file))
				expect{code: 0}.check(t, signed)
				ours := signatureOf(t, signed.stdout, f.sigPath)

				plain := runCLI(t, signed.stdout, "signature", "plaintext", "-n")
				expect{code: 0}.check(t, plain)
				plainFile := writeFile(t, filepath.Join(work, "plaintext"), []byte(plain.stdout))

				theirsFile := filepath.Join(work, "openssl.sig")
				if out, err := openssl(t, "dgst", "-sha1", "-sign", kp.priv, "-out", theirsFile, plainFile); err != nil {
					t.Fatalf("openssl dgst -sign: %v\n%s", err, out)
				}
				theirs, err := os.ReadFile(theirsFile)
				if err != nil {
					t.Fatal(err)
				}
				if got := base64.StdEncoding.EncodeToString(theirs); got != ours {
					t.Errorf("openssl's signature differs from ours\nopenssl %s\nours    %s", got, ours)
				}

				raw, err := base64.StdEncoding.DecodeString(ours)
				if err != nil {
					t.Fatal(err)
				}
				oursFile := writeFile(t, filepath.Join(work, "ours.sig"), raw)
				out, err := openssl(t, "dgst", "-sha1", "-verify", kp.pub, "-signature", oursFile, plainFile)
				if err != nil || !strings.Contains(out, "Verified OK") {
					t.Errorf("openssl rejects our signature: %v\n%s", err, out)
				}

				// Control: the same openssl check must be able to fail.
				otherFile := writeFile(t, filepath.Join(work, "other"), []byte(plain.stdout+" "))
				if out, err := openssl(t, "dgst", "-sha1", "-verify", kp.pub, "-signature", oursFile, otherFile); err == nil {
					t.Errorf("openssl accepted our signature over different bytes:\n%s", out)
				}
			})
		}
	}
}

// OpenSSL checks Trustly's real signatures over our plaintext: the
// serialization must be byte-exact for this to pass.
func TestOpenSSLVerifiesTrustlyVectorsOverOurPlaintext(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	sigPaths := map[string]string{
		"trustly-test-deposit-response.json":    "result.signature",
		"trustly-test-credit-notification.json": "params.signature",
	}
	for _, file := range trustlyVectors {
		t.Run(file, func(t *testing.T) {
			work := t.TempDir()
			plain := runCLI(t, "", "signature", "plaintext", "-n", testdata(file))
			expect{code: 0}.check(t, plain)
			plainFile := writeFile(t, filepath.Join(work, "plaintext"), []byte(plain.stdout))
			raw, err := base64.StdEncoding.DecodeString(signatureOf(t, readTestdata(t, file), sigPaths[file]))
			if err != nil {
				t.Fatal(err)
			}
			sigFile := writeFile(t, filepath.Join(work, "sig"), raw)

			out, err := openssl(t, "dgst", "-sha1", "-verify", testdata("trustly-test-public.pem"), "-signature", sigFile, plainFile)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Errorf("openssl with Trustly's TEST key: %v\n%s", err, out)
			}
			if out, err := openssl(t, "dgst", "-sha1", "-verify", testdata("trustly-live-public.pem"), "-signature", sigFile, plainFile); err == nil {
				t.Errorf("openssl accepted a TEST signature with the LIVE key:\n%s", out)
			}
		})
	}
}

func TestPythonCrossCheck(t *testing.T) {
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		t.Skip("python3 with the cryptography module is not available")
	}
	type checked struct {
		File      string `json:"file"`
		Plaintext string `json:"plaintext"`
		Valid     bool   `json:"valid"`
	}
	crosscheck := func(t *testing.T, pub string, files ...string) []checked {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "python3", append([]string{testdata("crosscheck.py"), pub}, files...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("crosscheck.py: %v\n%s", err, stderr.String())
		}
		var res []checked
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var c checked
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("crosscheck.py output %q: %v", sc.Text(), err)
			}
			res = append(res, c)
		}
		if len(res) != len(files) {
			t.Fatalf("crosscheck.py checked %d messages, want %d", len(res), len(files))
		}
		return res
	}
	agree := func(t *testing.T, c checked, wantValid bool) {
		t.Helper()
		ours := runCLI(t, "", "signature", "plaintext", "-n", c.File)
		if ours.stdout != c.Plaintext {
			t.Errorf("%s: plaintexts differ\npython %q\nours   %q", c.File, c.Plaintext, ours.stdout)
		}
		if c.Valid != wantValid {
			t.Errorf("%s: python says valid=%v, want %v", c.File, c.Valid, wantValid)
		}
	}

	t.Run("Trustly's vectors", func(t *testing.T) {
		var files []string
		for _, f := range trustlyVectors {
			files = append(files, testdata(f))
		}
		for _, c := range crosscheck(t, testdata("trustly-test-public.pem"), files...) {
			agree(t, c, true)
		}
		for _, c := range crosscheck(t, testdata("trustly-live-public.pem"), files...) {
			agree(t, c, false)
		}
	})

	t.Run("our signatures", func(t *testing.T) {
		work := t.TempDir()
		var files []string
		for _, f := range fixtures {
			signed := runCLI(t, "", "signature", "sign", "--private-key", filepath.Join(keyDir, privateKeyFile), testdata(f.file))
			expect{code: 0}.check(t, signed)
			files = append(files, writeFile(t, filepath.Join(work, f.file), []byte(signed.stdout)))
			tampered := strings.Replace(signed.stdout, f.tamper[0], f.tamper[1], 1)
			files = append(files, writeFile(t, filepath.Join(work, "tampered-"+f.file), []byte(tampered)))
		}
		for _, c := range crosscheck(t, filepath.Join(keyDir, publicKeyFile), files...) {
			agree(t, c, !strings.Contains(c.File, "tampered-"))
		}
	})
}
