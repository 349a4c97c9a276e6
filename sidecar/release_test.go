package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The release binary is reproducible: `make release-binaries`, run in this
// checkout and in a copy of its files at another path, writes the same bytes.
// Both builds share the build cache (that is what keeps this cheap enough for
// make test); make release-check builds once more with an empty one.
func TestReleaseBuildIsReproducible(t *testing.T) {
	if binPath == "" {
		t.Skip("go tool not found")
	}
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	version, err := releaseVersion(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	copyDir := filepath.Join(t.TempDir(), "elsewhere", "trustly-sidecar")
	copyTree(t, root, copyDir)

	build := func(dir string) (path string, sum string) {
		t.Helper()
		dist := t.TempDir()
		cmd := exec.CommandContext(t.Context(), mk, "--no-print-directory", "-C", dir, "release-binaries",
			"RELEASE_ARCHES=amd64", "DIST="+dist, "COMMIT="+commit)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make release-binaries in %s: %v\n%s", dir, err, out)
		}
		path = filepath.Join(dist, "trustly-sidecar_"+version+"_linux_amd64")
		return path, sha256File(t, path)
	}
	first, firstSum := build(root)
	second, secondSum := build(copyDir)
	if firstSum != secondSum {
		t.Fatalf("two builds of one tree differ:\n  %s %s\n  %s %s", firstSum, first, secondSum, second)
	}

	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	gopaths, err := exec.Command(goTool(), "env", "GOMODCACHE", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range append([]string{root, copyDir}, strings.Fields(string(gopaths))...) {
		if dir != "" && bytes.Contains(b, []byte(dir)) {
			t.Errorf("the binary holds the path %s (-trimpath?)", dir)
		}
	}
	out, err := exec.Command(goTool(), "version", "-m", first).Output()
	if err != nil {
		t.Fatal(err)
	}
	// With -trimpath the toolchain records no -ldflags; the version and the
	// commit are seen in what the binary prints.
	for _, want := range []string{"-trimpath=true", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "dep\t" + adapterModule + "\tv" + version} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("go version -m lacks %q:\n%s", want, out)
		}
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		got, err := exec.Command(first, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := "trustly-sidecar " + version + " (commit 0123456789ab, "; !strings.HasPrefix(string(got), want) {
			t.Errorf("--version printed %q, want it to start %q", got, want)
		}
	}
}

// copyTree copies the files git knows in root (tracked, or new and not
// ignored) to dst: what a fresh checkout elsewhere would hold.
func copyTree(t *testing.T, root, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		target := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
		if err == nil {
			_, err = io.Copy(f, in)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
