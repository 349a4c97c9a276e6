package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// `version` names the crypto the binary signs with, in-process and in the
// built binary (this test binary's build: Go's own crypto unless the test was
// built otherwise). `make crypto-test` also hands it the CRYPTO=boring binary
// in TRUSTLY_TEST_BORING_BIN, which must say boringcrypto, be static, and run
// with nothing set, as in a scratch image; and the CRYPTO=openssl binary in
// TRUSTLY_TEST_OPENSSL_BIN, which must say openssl and link no libcrypto.
func TestVersionNamesCrypto(t *testing.T) {
	want := "\ncrypto: " + trustly.CryptoBackend() + "\n"
	if r := runCLI(t, "", "version"); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("version in-process: want %q in\n%s", want, r)
	}
	if r := exe(t, "", "version"); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("version of the built binary: want %q in\n%s", want, r)
	}

	for _, b := range []struct {
		name, env, crypto string // crypto: the start of version's crypto line
		static            bool
		settings          []string // go version -m must show these
	}{
		{"boringcrypto", "TRUSTLY_TEST_BORING_BIN", "boringcrypto\n", true,
			[]string{"GOEXPERIMENT=boringcrypto", "CGO_ENABLED=1", "-trimpath=true"}},
		// Linked against glibc only: libcrypto is loaded at start, so the
		// binary runs (on Go's code, and says so) where OpenSSL is missing.
		{"openssl", "TRUSTLY_TEST_OPENSSL_BIN", "openssl (OpenSSL ", false,
			[]string{"-tags=openssl,netgo,osusergo", "CGO_ENABLED=1", "-trimpath=true"}},
	} {
		bin := os.Getenv(b.env)
		if bin == "" {
			t.Logf("%s unset: the %s binary is checked by make crypto-test", b.env, b.name)
			continue
		}
		t.Run(b.name+" binary", func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, "version")
			cmd.Env = []string{}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s version: %v\n%s", bin, err, out)
			}
			if !strings.Contains(string(out), "\ncrypto: "+b.crypto) {
				t.Errorf("%s version printed\n%s\nwant a line starting crypto: %s", bin, out, b.crypto)
			}
			requireLinks(t, bin, b.static)

			// Its crypto works where it runs: Trustly's signed TEST vector
			// verifies, and a signature is the same bytes Go's crypto gives
			// (PKCS#1 v1.5 is deterministic), with the key of core/trustly's
			// known answers.
			credit := readTestdata(t, "trustly-test-credit-notification.json")
			run := func(stdin string, args ...string) string {
				t.Helper()
				cmd := exec.CommandContext(t.Context(), bin, args...)
				cmd.Env, cmd.Stdin = []string{}, strings.NewReader(stdin)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
				}
				return string(out)
			}
			if got := run(credit, "signature", "verify", "--public-key", "test"); got != "valid\n" {
				t.Errorf("Trustly's TEST vector: %q, want valid", got)
			}
			sign := []string{"signature", "sign", "--private-key", "../core/trustly/testdata/kat-merchant-key.pem", testdata("reply.json")}
			want := exe(t, "", sign...)
			if want.code != 0 {
				t.Fatalf("sign with Go's crypto: %s", want)
			}
			if got := run("", sign...); got != want.stdout {
				t.Errorf("%s signed\n%s\nGo's crypto signed\n%s", b.name, got, want.stdout)
			}
			info, err := exec.CommandContext(t.Context(), goTool(), "version", "-m", bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range b.settings {
				if !strings.Contains(string(info), w) {
					t.Errorf("go version -m %s lacks %q", bin, w)
				}
			}
		})
	}
}

// requireLinks fails unless bin links as its build promises. static: no
// dynamic loader and no shared library, as a scratch image has neither.
// Otherwise glibc's libraries alone: libcrypto is for the binary to load,
// never for the loader.
func requireLinks(t *testing.T, bin string, static bool) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if static {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked (program header %v)", bin, p.Type)
			}
		}
		if len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v", bin, libs)
		}
		return
	}
	for _, l := range libs {
		if !strings.HasPrefix(l, "libc.so") && !strings.HasPrefix(l, "libdl.so") && !strings.HasPrefix(l, "libpthread.so") {
			t.Errorf("%s needs %s (all: %v)", bin, l, libs)
		}
	}
}
