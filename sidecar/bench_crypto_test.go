package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Signing the reply is most of what a notification costs the sidecar (issue
// #19), and the build decides the implementation behind crypto/rsa. These are
// the options that keep the project buildable from its own source without a
// hand-written line of RSA: Go's toolchain settings, BoringCrypto, and the
// system's OpenSSL through github.com/golang-fips/openssl/v2. Each is one
// build of core/trustly's tests, measured by its benchmarks.

// signingOption is one way to build the crypto. build is the environment of
// `go test -c`, run that of the test binary.
type signingOption struct {
	name       string
	build, run []string
	how        string
	boring     bool // needs cgo and linux/amd64
	linux      bool // needs cgo and Linux
}

var signingOptions = []signingOption{
	{name: "go (default)", build: []string{"CGO_ENABLED=0", "GOAMD64=v1"},
		how: "CGO_ENABLED=0 GOAMD64=v1: make build, the release binaries, the image"},
	{name: "go, GOAMD64=v2", build: []string{"CGO_ENABLED=0", "GOAMD64=v2"},
		how: "x86-64-v2 code generation (the binary would refuse older CPUs)"},
	{name: "go, GOAMD64=v3", build: []string{"CGO_ENABLED=0", "GOAMD64=v3"},
		how: "x86-64-v3 code generation: AVX2, BMI2 (the binary would refuse older CPUs)"},
	{name: "go, GODEBUG=fips140=on", build: []string{"CGO_ENABLED=0", "GOAMD64=v1"}, run: []string{"GODEBUG=fips140=on"},
		how: "the default build in FIPS 140-3 mode (fips140=only would refuse SHA-1, which Trustly requires)"},
	{name: "go, GOFIPS140=v1.0.0", build: []string{"CGO_ENABLED=0", "GOAMD64=v1", "GOFIPS140=v1.0.0"},
		how: "the frozen Go Cryptographic Module v1.0.0 shipped with the toolchain, FIPS 140-3 mode on by default"},
	{name: "boringcrypto", build: []string{"CGO_ENABLED=1", "GOAMD64=v1", "GOEXPERIMENT=boringcrypto"}, boring: true,
		how: "GOEXPERIMENT=boringcrypto CGO_ENABLED=1: make build CRYPTO=boring (linux/amd64, static)"},
	{name: "openssl", build: []string{"CGO_ENABLED=1", "GOAMD64=v1", "GOFLAGS=-tags=openssl"}, linux: true,
		how: "-tags openssl CGO_ENABLED=1: make build CRYPTO=openssl (Linux, linked to glibc, the system's libcrypto loaded at start)"},
}

// The settings an option sets are cleared from the inherited environment
// first, so a caller's GOEXPERIMENT or GODEBUG cannot leak into another option.
var signingEnvKeys = []string{"CGO_ENABLED", "GOAMD64", "GOEXPERIMENT", "GOFIPS140", "GODEBUG", "GOFLAGS"}

func signingEnv(extra []string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(signingEnvKeys, k)
	})
	return append(env, extra...)
}

// signingRows measures the CPU per signature of each option in one run and
// returns rows (measure, value, note) for the bench table, each with its ratio
// to the default build's. Every option's test binary is built first, then the
// binaries run in turns, round after round, so a neighbour's load on the
// shared machine falls on all of them alike; the median round counts. CPU
// time (getrusage, cpu-ns/op) rather than wall time, which other users move.
//
// It measures only under TRUSTLY_BENCH=full (make bench) or
// TRUSTLY_BENCH_SIGNING=1: building the six test binaries takes minutes on a
// cold build cache, too long for make test.
func signingRows(t *testing.T) [][3]string {
	t.Helper()
	if os.Getenv("TRUSTLY_BENCH") != "full" && os.Getenv("TRUSTLY_BENCH_SIGNING") == "" {
		return [][3]string{{"signature CPU by crypto build", "not measured", "make bench measures it (TRUSTLY_BENCH=full)"}}
	}
	gobin := goTool()
	if gobin == "" {
		return [][3]string{{"signature CPU by crypto build", "not measured", "no go tool"}}
	}
	rounds, n := 5, 400
	if v, err := strconv.Atoi(os.Getenv("TRUSTLY_BENCH_SIGNING_N")); err == nil && v > 0 {
		n = v
	}
	pkgDir, err := filepath.Abs(filepath.Join("..", "core", "trustly"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	type built struct {
		opt     signingOption
		bin     string
		sign    []float64 // cpu-ns per signature, one per round
		notif   []float64 // cpu-ns per notification's crypto
		backend string
	}
	var opts []*built
	var rows [][3]string
	for i, o := range signingOptions {
		if o.boring && (runtime.GOOS != "linux" || runtime.GOARCH != "amd64") {
			rows = append(rows, [3]string{"signature CPU, " + o.name, "not measured", "BoringCrypto is built on linux/amd64 only"})
			continue
		}
		if o.linux && runtime.GOOS != "linux" {
			rows = append(rows, [3]string{"signature CPU, " + o.name, "not measured", "the openssl build is made on Linux only"})
			continue
		}
		bin := filepath.Join(dir, fmt.Sprintf("option%d.test", i))
		cmd := exec.CommandContext(t.Context(), gobin, "test", "-c", "-o", bin, ".")
		cmd.Dir, cmd.Env = pkgDir, signingEnv(o.build)
		if out, err := cmd.CombinedOutput(); err != nil {
			if i == 0 {
				t.Fatalf("build %s: %v\n%s", o.name, err, out)
			}
			rows = append(rows, [3]string{"signature CPU, " + o.name, "not measured", "build failed: " + signingFirstLine(string(out))})
			continue
		}
		opts = append(opts, &built{opt: o, bin: bin})
	}

	for range rounds {
		for _, b := range opts {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			cmd := exec.CommandContext(ctx, b.bin, "-test.run", "^TestCryptoBackend$", "-test.v",
				"-test.bench", "^(BenchmarkSignReply|BenchmarkNotificationCrypto)$", "-test.benchtime", fmt.Sprintf("%dx", n), "-test.count", "1")
			cmd.Dir, cmd.Env = pkgDir, signingEnv(b.opt.run)
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s: %v\n%s", b.opt.name, err, out)
			}
			r, err := parseSigningBench(out)
			if err != nil {
				t.Fatalf("%s: %v\n%s", b.opt.name, err, out)
			}
			b.sign = append(b.sign, r.cpuNs["BenchmarkSignReply"])
			b.notif = append(b.notif, r.cpuNs["BenchmarkNotificationCrypto"])
			b.backend = r.backend
		}
	}

	base := signingMedian(opts[0].sign)
	for _, b := range opts {
		sign, notif := signingMedian(b.sign), signingMedian(b.notif)
		rows = append(rows, [3]string{
			"signature CPU, " + b.opt.name,
			fmt.Sprintf("%s (%.2f× default)", signingMs(sign), sign/base),
			fmt.Sprintf("%s; crypto says %q; a notification's crypto (parse, verify, sign) %s; median of %d rounds of %d", b.opt.how, b.backend, signingMs(notif), rounds, n),
		})
	}
	if r, ok := opensslSignRow(t, base); ok {
		rows = append(rows, r)
	}
	return append(rows, [3]string{"signing crypto of make build", "go (default)",
		"a static pure-Go binary for every platform; BoringCrypto (make build CRYPTO=boring: cgo, linux/amd64, unsupported outside Google) and OpenSSL (make build CRYPTO=openssl: cgo, Linux, no scratch image) are opt-in; README, Performance"})
}

type signingBench struct {
	cpuNs   map[string]float64 // benchmark name without -GOMAXPROCS → cpu-ns/op
	backend string             // what TestCryptoBackend logged
}

var (
	benchLineRe   = regexp.MustCompile(`(?m)^(Benchmark\w+)(?:-\d+)?\s+\d+\s.*?\s([0-9.]+) cpu-ns/op`)
	backendLineRe = regexp.MustCompile(`(?m)crypto: (.+) \(go[^)]*\)$`)
)

// parseSigningBench reads what a core/trustly test binary printed with
// -test.v and -test.bench: the cpu-ns/op of each benchmark, and the crypto
// TestCryptoBackend logged.
func parseSigningBench(out []byte) (signingBench, error) {
	r := signingBench{cpuNs: map[string]float64{}}
	for _, m := range benchLineRe.FindAllSubmatch(out, -1) {
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			return r, fmt.Errorf("benchmark %s: %w", m[1], err)
		}
		r.cpuNs[string(m[1])] = v
	}
	if m := backendLineRe.FindSubmatch(out); m != nil {
		r.backend = string(m[1])
	}
	for _, want := range []string{"BenchmarkSignReply", "BenchmarkNotificationCrypto"} {
		if _, ok := r.cpuNs[want]; !ok {
			return r, fmt.Errorf("no cpu-ns/op for %s", want)
		}
	}
	if r.backend == "" {
		return r, fmt.Errorf("no crypto: line from TestCryptoBackend")
	}
	return r, nil
}

// OpenSSL's own tool is the floor for the openssl option above, which adds
// the binding's cgo calls and a Go-side SHA-1. `openssl speed` divides by
// the user CPU time it used, like cpu-ns/op.
func opensslSignRow(t *testing.T, base float64) ([3]string, bool) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		return [3]string{}, false
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "speed", "-seconds", "2", "-mr", "rsa2048").Output()
	if err != nil {
		return [3]string{"signature CPU, OpenSSL (reference)", "not measured", "openssl speed: " + err.Error()}, true
	}
	perSec, err := parseOpenSSLSpeed(out)
	if err != nil {
		return [3]string{"signature CPU, OpenSSL (reference)", "not measured", err.Error()}, true
	}
	ver, _ := exec.CommandContext(ctx, bin, "version").Output()
	ns := 1e9 / perSec
	return [3]string{"signature CPU, OpenSSL (reference)", fmt.Sprintf("%s (%.2f× default)", signingMs(ns), ns/base),
		"openssl speed rsa2048, " + strings.TrimSpace(string(ver)) + ": OpenSSL's own tool, the floor of the openssl build"}, true
}

var opensslF2Re = regexp.MustCompile(`(?m)^\+F2:\d+:2048:([0-9.]+):([0-9.]+)$`)

// parseOpenSSLSpeed returns RSA-2048 signatures per second of CPU from
// `openssl speed -mr rsa2048`.
func parseOpenSSLSpeed(out []byte) (float64, error) {
	m := opensslF2Re.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("openssl speed: no +F2 line for rsa2048")
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("openssl speed: signatures per second %q", m[1])
	}
	return v, nil
}

func signingMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func signingMs(ns float64) string { return fmt.Sprintf("%.3f ms", ns/1e6) }

func signingFirstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// What a boringcrypto build of core/trustly's tests printed, run as
// signingRows runs it, and `openssl speed -seconds 2 -mr rsa2048` (stdout):
// the parsers read them; no timing is asserted.
const (
	capturedSigningBench = `=== RUN   TestCryptoBackend
    crypto_test.go:124: crypto: boringcrypto (go1.26.8-X:boringcrypto)
--- PASS: TestCryptoBackend (0.00s)
goos: linux
goarch: amd64
pkg: github.com/trustly-sidecar/trustly-sidecar/core/trustly
cpu: AMD EPYC
BenchmarkNotificationCrypto
BenchmarkNotificationCrypto-2   	     400	   1122850 ns/op	   1030080 cpu-ns/op	    7970 B/op	      81 allocs/op
BenchmarkSignReply
BenchmarkSignReply-2            	     400	   1033163 ns/op	    969588 cpu-ns/op	    2081 B/op	      14 allocs/op
PASS
`
	capturedOpenSSLSpeed = `+F2:2:2048:1160.714286:38741.176471
`
)

func TestSigningBenchParsers(t *testing.T) {
	r, err := parseSigningBench([]byte(capturedSigningBench))
	if err != nil {
		t.Fatal(err)
	}
	if r.backend != "boringcrypto" {
		t.Errorf("backend %q, want boringcrypto", r.backend)
	}
	want := map[string]float64{"BenchmarkNotificationCrypto": 1030080, "BenchmarkSignReply": 969588}
	for k, v := range want {
		if r.cpuNs[k] != v {
			t.Errorf("%s: cpu-ns/op %v, want %v", k, r.cpuNs[k], v)
		}
	}
	for _, bad := range []string{
		"",
		strings.ReplaceAll(capturedSigningBench, "cpu-ns/op", "ns/op"),
		strings.ReplaceAll(capturedSigningBench, "crypto: boringcrypto", "cryptography"),
	} {
		if _, err := parseSigningBench([]byte(bad)); err == nil {
			t.Errorf("parsed output lacking a figure:\n%s", bad)
		}
	}

	perSec, err := parseOpenSSLSpeed([]byte(capturedOpenSSLSpeed))
	if err != nil || perSec != 1160.714286 {
		t.Errorf("openssl speed: %v, %v; want 1160.714286", perSec, err)
	}
	if _, err := parseOpenSSLSpeed(bytes.ReplaceAll([]byte(capturedOpenSSLSpeed), []byte("+F2"), []byte("+F3"))); err == nil {
		t.Error("parsed openssl speed output without its +F2 line")
	}
	if got := signingMedian([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v", got)
	}
}

// TRUSTLY_BENCH_SIGNING=1 go test -run '^TestSigningRows$' -v ./sidecar
// prints the rows alone, without the rest of the bench table.
func TestSigningRows(t *testing.T) {
	if os.Getenv("TRUSTLY_BENCH_SIGNING") == "" {
		t.Skip("TRUSTLY_BENCH_SIGNING unset: make bench measures the signing options")
	}
	for _, r := range signingRows(t) {
		t.Logf("%-42s %-26s %s", r[0], r[1], r[2])
	}
}
