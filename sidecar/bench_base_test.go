package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/loadgen"
)

// A base is another revision of this repository, built on this machine and
// measured in the same run as this build, in turns with it: `make bench
// BASE=<rev>`. Two machines, or one machine an hour apart, differ by more
// than most changes do (process start, a woken hop, a signature: 2× and
// more between the VMs this project has run on), so a figure against a
// limit set elsewhere says little; a ratio to the code the limit was set
// on, measured side by side, says what the change did.
type benchBase struct {
	label string // what the table calls it: the revision, or "this build"
	bin   string
}

// baseFor is the base the bench compares with: the revision
// TRUSTLY_BENCH_BASE names, built here. Without one, make bench measures
// no base; make test compares this build with itself, so that every part
// of the comparison runs (and cannot rot) without a second build.
func baseFor(t *testing.T, full bool) (benchBase, bool) {
	t.Helper()
	rev := os.Getenv("TRUSTLY_BENCH_BASE")
	switch {
	case rev != "":
		return buildRevision(t, rev), true
	case full:
		return benchBase{}, false
	}
	return benchBase{label: "= this build (make test)", bin: binPath}, true
}

// buildRevision builds the sidecar of the repository's revision rev as
// make build builds it (static, no cgo), from `git archive` into a
// temporary directory: the working tree is not touched, and the Go build
// cache makes unchanged packages free.
func buildRevision(t *testing.T, rev string) benchBase {
	t.Helper()
	// From the repository's top: run in a subdirectory, git archive
	// would pack only that.
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", ".."}, args...)...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("TRUSTLY_BENCH_BASE=%s: git %s: %v\n%s", rev, strings.Join(args, " "), err, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	sha := git("rev-parse", "--verify", "--quiet", rev+"^{commit}")
	short := git("rev-parse", "--short=7", sha)
	dir := t.TempDir()
	tarball := filepath.Join(dir, "src.tar")
	git("archive", "--format=tar", "-o", tarball, sha)
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xf", tarball, "-C", src).CombinedOutput(); err != nil {
		t.Fatalf("TRUSTLY_BENCH_BASE=%s: tar: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(dir, "trustly-sidecar-"+short)
	cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags", "-s -w -X main.version=base-"+short, "-o", bin, "./sidecar")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("TRUSTLY_BENCH_BASE=%s: go build: %v\n%s", rev, err, out)
	}
	return benchBase{label: short, bin: bin}
}

// opensslBuild builds this tree's sidecar as make build CRYPTO=openssl does
// (cgo, the system's libcrypto loaded at start) and returns it with the
// crypto its version names; "" on a machine that cannot build or load it,
// which the table then leaves out.
func opensslBuild(t *testing.T) (bin, crypto string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return "", ""
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Logf("openssl build left out: no gcc (make cc installs it)")
		return "", ""
	}
	bin = filepath.Join(t.TempDir(), "trustly-sidecar-openssl")
	cmd := exec.Command(goTool(), "build", "-trimpath", "-tags", "openssl,netgo,osusergo", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	_, crypto, _ = strings.Cut(strings.TrimSpace(string(out)), "\ncrypto: ")
	if !strings.HasPrefix(crypto, "openssl") {
		t.Logf("openssl build left out: it says crypto: %s", crypto)
		return "", ""
	}
	return bin, crypto
}

// cpuInTurns sends the same load to two serve processes in turns, turns
// times each, and returns each one's CPU per request, summed over its
// turns. send(side, turn) sends one turn's load to side 0 or 1 and returns
// how many requests it answered.
func cpuInTurns(t *testing.T, pids [2]int, turns int, send func(side, turn int) int) [2]time.Duration {
	t.Helper()
	var cpu [2]time.Duration
	var n [2]int
	for turn := range turns {
		for side, pid := range pids {
			before := readProc(t, pid)
			n[side] += send(side, turn)
			cpu[side] += readProc(t, pid).CPU - before.CPU
		}
	}
	var per [2]time.Duration
	for side := range per {
		if n[side] > 0 {
			per[side] = cpu[side] / time.Duration(n[side])
		}
	}
	return per
}

// baseRow is the note of a row that compares this build with the base.
func baseRow(base benchBase, how string, mine, theirs time.Duration) string {
	return fmt.Sprintf("base %s, in turns with this build (%s): this build %s, %.2f× the base", base.label, how, loadgen.Ms(mine), share(mine, theirs))
}
