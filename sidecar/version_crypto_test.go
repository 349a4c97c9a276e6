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
// with nothing set, as in a scratch image.
func TestVersionNamesCrypto(t *testing.T) {
	want := "\ncrypto: " + trustly.CryptoBackend() + "\n"
	if r := runCLI(t, "", "version"); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("version in-process: want %q in\n%s", want, r)
	}
	if r := exe(t, "", "version"); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("version of the built binary: want %q in\n%s", want, r)
	}

	bin := os.Getenv("TRUSTLY_TEST_BORING_BIN")
	if bin == "" {
		t.Log("TRUSTLY_TEST_BORING_BIN unset: the BoringCrypto binary is checked by make crypto-test")
		return
	}
	t.Run("boringcrypto binary", func(t *testing.T) {
		cmd := exec.CommandContext(t.Context(), bin, "version")
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, out)
		}
		if !strings.Contains(string(out), "\ncrypto: boringcrypto\n") {
			t.Errorf("%s version printed\n%s\nwant a line crypto: boringcrypto", bin, out)
		}
		requireStatic(t, bin)

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
			t.Errorf("boringcrypto signed\n%s\nGo's crypto signed\n%s", got, want.stdout)
		}
		info, err := exec.CommandContext(t.Context(), goTool(), "version", "-m", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"GOEXPERIMENT=boringcrypto", "CGO_ENABLED=1", "-trimpath=true"} {
			if !strings.Contains(string(info), w) {
				t.Errorf("go version -m %s lacks %q", bin, w)
			}
		}
	})
}

// requireStatic fails unless bin needs no dynamic loader and no shared
// library: a scratch image has neither.
func requireStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (program header %v)", bin, p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", bin, libs)
	}
}
