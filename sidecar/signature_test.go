package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

// creditPlaintext is the plaintext of the credit notification, as given in
// the wire contract (not derived from our own code).
const creditPlaintext = "creditf1b77aac-516d-4b89-a125-c005f4c020f0amount20.00currencySEKenduseridleecSmessageid5001_655548notificationid3653956920orderid3931155141timestamp2015-03-12 15:14:18.61671+00"

// fixtures are unsigned messages of each kind. tamper is a one-place edit of
// signed content, made to the signed output.
var fixtures = []struct {
	file, kind, sigPath string
	tamper              [2]string
}{
	{"request.json", "request", "params.Signature", [2]string{"Öberg", "Oberg"}},
	{"notification.json", "notification", "params.signature", [2]string{`"verified":"1"`, `"verified":"0"`}},
	{"response.json", "response", "result.signature", [2]string{`"result":"1"`, `"result":"0"`}},
	{"error.json", "error", "error.error.signature", [2]string{`"method":"Deposit"`, `"method":"Deposiu"`}},
	{"reply.json", "notification reply", "result.signature", [2]string{`"status":"OK"`, `"status":"FAILED"`}},
}

// trustlyVectors were signed by Trustly's real TEST key.
var trustlyVectors = []string{"trustly-test-deposit-response.json", "trustly-test-credit-notification.json"}

func goldenName(file string) string {
	return testdata(strings.TrimSuffix(file, ".json") + ".plaintext.golden")
}

func TestPlaintextGolden(t *testing.T) {
	files := append([]string{}, trustlyVectors...)
	for _, f := range fixtures {
		files = append(files, f.file)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			r := runCLI(t, "", "signature", "plaintext", testdata(file))
			expect{code: 0}.check(t, r)
			if *update {
				if err := os.WriteFile(goldenName(file), []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readTestdata(t, filepath.Base(goldenName(file)))
			if r.stdout != want {
				t.Errorf("plaintext\n got %q\nwant %q", r.stdout, want)
			}
			if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "\n") {
				t.Errorf("want the plaintext and exactly one newline, got %q", r.stdout)
			}
			raw := runCLI(t, "", "signature", "plaintext", "-n", testdata(file))
			if raw.stdout+"\n" != r.stdout {
				t.Errorf("-n output %q is not the plaintext without its newline", raw.stdout)
			}
		})
	}
}

func TestCreditNotificationPlaintext(t *testing.T) {
	credit := readTestdata(t, "trustly-test-credit-notification.json")
	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"from a file", "", []string{testdata("trustly-test-credit-notification.json")}},
		{"from stdin", credit, nil},
		{"from stdin named -", credit, []string{"-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, append([]string{"signature", "plaintext"}, tt.args...)...)
			expect{code: 0}.check(t, r)
			if r.stdout != creditPlaintext+"\n" {
				t.Errorf("plaintext\n got %q\nwant %q", r.stdout, creditPlaintext+"\n")
			}
			if r.stderr != "" {
				t.Errorf("stderr should be empty without --kind, got %q", r.stderr)
			}
		})
	}
}

func TestVerifyTrustlyVectors(t *testing.T) {
	tests := []struct {
		name string
		key  []string
		want expect
	}{
		{"Trustly's TEST key by name", []string{"--public-key", "test"},
			expect{code: 0, stdout: []string{"valid\n"}}},
		{"Trustly's TEST key from a file", []string{"--public-key", testdata("trustly-test-public.pem")},
			expect{code: 0, stdout: []string{"valid\n"}}},
		{"Trustly's LIVE key by name", []string{"--public-key", "live"},
			expect{code: 1, stdout: []string{"invalid: ", "TEST/LIVE key mix-up", "signed with Trustly's TEST key", "configured for LIVE"}}},
		{"Trustly's LIVE key from a file", []string{"--public-key", testdata("trustly-live-public.pem")},
			expect{code: 1, stdout: []string{"invalid: ", "TEST/LIVE key mix-up", "configured for LIVE"}}},
		{"a merchant key", []string{"--public-key", filepath.Join(keyDir, publicKeyFile), "--env", "sim"},
			expect{code: 1, stdout: []string{"invalid: ", "TEST/LIVE key mix-up", "configured for SIM"}}},
	}
	for _, file := range trustlyVectors {
		for _, tt := range tests {
			t.Run(file+"/"+tt.name, func(t *testing.T) {
				args := append([]string{"signature", "verify"}, tt.key...)
				r := runCLI(t, "", append(args, testdata(file))...)
				tt.want.check(t, r)
				if tt.want.code == 0 && r.stdout != "valid\n" {
					t.Errorf("stdout = %q, want exactly %q", r.stdout, "valid\n")
				}
			})
		}
	}
}

func TestVerifyTamperedVectors(t *testing.T) {
	tests := []struct {
		file     string
		name     string
		old, new string
	}{
		{"trustly-test-credit-notification.json", "amount", `"amount":"20.00"`, `"amount":"20.01"`},
		{"trustly-test-credit-notification.json", "uuid", `"uuid":"f1b77aac`, `"uuid":"f1b77aab`},
		{"trustly-test-credit-notification.json", "method", `"method":"credit"`, `"method":"credix"`},
		{"trustly-test-credit-notification.json", "signature", `"signature":"jzso`, `"signature":"kzso`},
		{"trustly-test-deposit-response.json", "order id", `"orderid":"1371798227"`, `"orderid":"1371798228"`},
		{"trustly-test-deposit-response.json", "checkout url", `Locale=sv_SE`, `Locale=sv_SF`},
		{"trustly-test-deposit-response.json", "a new field in data", `"data":{`, `"data":{"x":"",`},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.name, func(t *testing.T) {
			raw := readTestdata(t, tt.file)
			tampered := strings.Replace(raw, tt.old, tt.new, 1)
			if tampered == raw {
				t.Fatalf("%q not found in %s", tt.old, tt.file)
			}
			r := runCLI(t, tampered, "signature", "verify", "--public-key", "test")
			expect{code: 1, stdout: []string{"invalid: signature does not verify"}}.check(t, r)
			if strings.Contains(r.stdout, "mix-up") {
				t.Errorf("a forgery is not a TEST/LIVE mix-up: %q", r.stdout)
			}
		})
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	priv := filepath.Join(keyDir, privateKeyFile)
	pub := filepath.Join(keyDir, publicKeyFile)
	for _, f := range fixtures {
		t.Run(f.kind, func(t *testing.T) {
			signed := runCLI(t, "", "signature", "sign", "--private-key", priv, testdata(f.file))
			expect{code: 0}.check(t, signed)
			if strings.Count(signed.stdout, "\n") != 1 || !strings.HasSuffix(signed.stdout, "\n") {
				t.Fatalf("want one line of JSON, got %q", signed.stdout)
			}

			var tree map[string]any
			if err := json.Unmarshal([]byte(signed.stdout), &tree); err != nil {
				t.Fatalf("signed output is not JSON: %v", err)
			}
			sig, ok := dig(tree, f.sigPath).(string)
			if !ok {
				t.Fatalf("no signature string at %s in %s", f.sigPath, signed.stdout)
			}
			if raw, err := base64.StdEncoding.DecodeString(sig); err != nil || len(raw) != 256 {
				t.Errorf("signature at %s is not base64 of a 2048-bit signature (%d bytes, %v)", f.sigPath, len(raw), err)
			}

			kind := runCLI(t, signed.stdout, "signature", "plaintext", "--kind")
			if !strings.HasPrefix(kind.stderr, f.kind+":") {
				t.Errorf("--kind says %q, want it to start with %q", kind.stderr, f.kind+":")
			}
			if want := readTestdata(t, filepath.Base(goldenName(f.file))); kind.stdout != want {
				t.Errorf("signing changed the signed content:\n got %q\nwant %q", kind.stdout, want)
			}

			expect{code: 0, stdout: []string{"valid\n"}}.check(t, runCLI(t, signed.stdout, "signature", "verify", "--public-key", pub))

			again := runCLI(t, "", "signature", "sign", "--private-key", priv, testdata(f.file))
			if again.stdout != signed.stdout {
				t.Errorf("PKCS#1 v1.5 signing is deterministic, but two runs differ")
			}

			tampered := strings.Replace(signed.stdout, f.tamper[0], f.tamper[1], 1)
			if tampered == signed.stdout {
				t.Fatalf("%q not found in the signed output", f.tamper[0])
			}
			expect{code: 1, stdout: []string{"invalid: signature does not verify"}}.check(t,
				runCLI(t, tampered, "signature", "verify", "--public-key", pub))

			expect{code: 1, stdout: []string{"invalid: "}}.check(t,
				runCLI(t, signed.stdout, "signature", "verify", "--public-key", testdata("trustly-test-public.pem")))
		})
	}
}

// Requests and replies are signed by the merchant; checking one with
// Trustly's key is a mistake the tool should name.
func TestVerifyMerchantMessageWithTrustlyKey(t *testing.T) {
	signed := runCLI(t, "", "signature", "sign", "--private-key", filepath.Join(keyDir, privateKeyFile), testdata("request.json"))
	expect{code: 1, stdout: []string{"invalid: ", "a request is signed with the merchant's key"}}.check(t,
		runCLI(t, signed.stdout, "signature", "verify", "--public-key", "test"))
}

func dig(tree map[string]any, path string) any {
	var v any = tree
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestSignatureInputErrors(t *testing.T) {
	priv := filepath.Join(keyDir, privateKeyFile)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  expect
	}{
		{"plaintext of malformed JSON", `{"method":`, []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"stdin: trustly: malformed JSON"}, stdoutNone: true}},
		{"plaintext of empty input", "", []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"input is empty"}, stdoutNone: true}},
		{"plaintext of blank input", " \n\t\n", []string{"signature", "plaintext", "-"},
			expect{code: 1, stderr: []string{"input is empty"}, stdoutNone: true}},
		{"plaintext of a missing file", "", []string{"signature", "plaintext", "no-such.json"},
			expect{code: 1, stderr: []string{"open no-such.json: no such file or directory"}, stdoutNone: true}},
		{"plaintext of a directory", "", []string{"signature", "plaintext", "testdata"},
			expect{code: 1, stderr: []string{"read testdata: is a directory"}, stdoutNone: true}},
		{"plaintext of a JSON array", `[1,2]`, []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"not a JSON-RPC envelope", "top level is an array"}, stdoutNone: true}},
		{"plaintext of JSON that is no envelope", `{"version":"1.1"}`, []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"none of params, result or error"}, stdoutNone: true}},
		{"plaintext of two messages", `{"result":{}}{"result":{}}`, []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"trailing data"}, stdoutNone: true}},
		{"plaintext of data with a JSON boolean", `{"result":{"method":"credit","uuid":"u","data":{"ok":true}}}`, []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"JSON boolean"}, stdoutNone: true}},
		{"sign malformed JSON", `{"params":[}`, []string{"signature", "sign", "--private-key", priv},
			expect{code: 1, stderr: []string{"malformed JSON"}, stdoutNone: true}},
		{"sign a request without a UUID", `{"method":"Deposit","params":{"Data":{"Username":"u"}}}`, []string{"signature", "sign", "--private-key", priv},
			expect{code: 1, stderr: []string{"has no method or uuid"}, stdoutNone: true}},
		{"verify malformed JSON", `{"params":[}`, []string{"signature", "verify", "--public-key", "test"},
			expect{code: 1, stdout: []string{"invalid: malformed JSON"}}},
		{"verify empty input", "", []string{"signature", "verify", "--public-key", "test"},
			expect{code: 1, stderr: []string{"input is empty"}, stdoutNone: true}},
		{"verify a message without a signature", "", []string{"signature", "verify", "--public-key", "test", testdata("response.json")},
			expect{code: 1, stdout: []string{"invalid: ", "carries no signature"}}},
		{"verify a missing file", "", []string{"signature", "verify", "--public-key", "test", "no-such.json"},
			expect{code: 1, stderr: []string{"no such file"}, stdoutNone: true}},
		{"input over the size limit", strings.Repeat(" ", cli.MaxInput+1), []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"larger than the 10 MiB limit"}, stdoutNone: true}},
		{"input at the size limit is read", strings.Repeat(" ", cli.MaxInput), []string{"signature", "plaintext"},
			expect{code: 1, stderr: []string{"input is empty"}, stdoutNone: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.check(t, runCLI(t, tt.stdin, tt.args...))
		})
	}
}

func TestSignatureKeyErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, blockType string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecPubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	shortDER, _ := x509.MarshalPKCS8PrivateKey(short)
	shortPubDER, _ := x509.MarshalPKIXPublicKey(&short.PublicKey)
	// Only the block type marks a PKCS#8 key as encrypted; its content is
	// never looked at, so random bytes stand in for real ciphertext.
	junk := make([]byte, 64)
	rand.Read(junk)

	keys := map[string]string{
		"ec":         write("ec.pem", "EC PRIVATE KEY", ecDER),
		"ec-public":  write("ec-public.pem", "PUBLIC KEY", ecPubDER),
		"short":      write("short.pem", "PRIVATE KEY", shortDER),
		"short-pub":  write("short-public.pem", "PUBLIC KEY", shortPubDER),
		"encrypted":  write("encrypted.pem", "ENCRYPTED PRIVATE KEY", junk),
		"merchant":   filepath.Join(keyDir, privateKeyFile),
		"merchantPK": filepath.Join(keyDir, publicKeyFile),
	}
	notPEM := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(notPEM, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := testdata("reply.json")

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"private key passed as --public-key", []string{"verify", "--public-key", keys["merchant"], msg},
			[]string{"this is a private key, but a public key is needed to verify"}},
		{"public key passed as --private-key", []string{"sign", "--private-key", keys["merchantPK"], msg},
			[]string{"this is a public key, but a private key is needed to sign"}},
		{"encrypted private key", []string{"sign", "--private-key", keys["encrypted"], msg},
			[]string{"encrypted with a passphrase"}},
		{"EC private key", []string{"sign", "--private-key", keys["ec"], msg},
			[]string{"not an RSA key", "EC PRIVATE KEY"}},
		{"EC public key", []string{"verify", "--public-key", keys["ec-public"], msg},
			[]string{"not an RSA key"}},
		{"1024-bit private key", []string{"sign", "--private-key", keys["short"], msg},
			[]string{"shorter than 2048 bits", "it has 1024"}},
		{"1024-bit public key", []string{"verify", "--public-key", keys["short-pub"], msg},
			[]string{"shorter than 2048 bits"}},
		{"private key file that is not PEM", []string{"sign", "--private-key", notPEM, msg},
			[]string{"no PEM block found"}},
		{"missing private key file", []string{"sign", "--private-key", filepath.Join(dir, "absent.pem"), msg},
			[]string{"absent.pem: no such file"}},
		{"missing public key file", []string{"verify", "--public-key", filepath.Join(dir, "absent.pem"), msg},
			[]string{"absent.pem: no such file"}},
	}
	privBody := privateKeyBody(t, keys["merchant"])
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"signature"}, tt.args...)...)
			expect{code: 1, stderr: tt.want, stdoutNone: true}.check(t, r)
			if strings.Contains(r.stderr, privBody) || strings.Contains(r.stderr, "-----BEGIN PRIVATE KEY") {
				t.Errorf("key material in the error output: %q", r.stderr)
			}
		})
	}
}

// privateKeyBody returns a line from the middle of a PEM file, enough to
// recognise the key if it ever leaks into output.
func privateKeyBody(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	return lines[len(lines)/2]
}
