package tests

import (
	"bufio"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No Docker daemon runs in CI, so the images are not built here. These tests check
// what can be checked without one: the Dockerfiles copy files that exist, run as the
// user the chart expects, and the binary they ship is static (it runs on scratch).

func TestDockerfileCopiesExistingFiles(t *testing.T) {
	for _, c := range []struct {
		dockerfile string
		context    func(src string) bool // whether src exists in the build context
	}{
		{"Dockerfile", func(src string) bool { _, err := os.Stat(filepath.Join(repoRoot, src)); return err == nil }},
		// make image-scratch stages exactly these two names in .cache/image.
		{"Dockerfile.scratch", func(src string) bool { return src == "trustly-sidecar" || src == "ca-certificates.crt" }},
	} {
		t.Run(c.dockerfile, func(t *testing.T) {
			lines := instructions(t, filepath.Join(repoRoot, c.dockerfile))
			var user, final string
			for _, l := range lines {
				f := strings.Fields(l)
				switch strings.ToUpper(f[0]) {
				case "FROM":
					final = f[1]
				case "USER":
					user = f[1]
				case "COPY":
					if strings.HasPrefix(f[1], "--from=") {
						continue
					}
					for _, src := range f[1 : len(f)-1] {
						if !c.context(src) {
							t.Errorf("%s: COPY %s: no such file in the build context", c.dockerfile, src)
						}
					}
				}
			}
			if final != "scratch" {
				t.Errorf("%s: final stage FROM %s, want scratch", c.dockerfile, final)
			}
			if user != "65532:65532" {
				t.Errorf("%s: USER %q, want 65532:65532 (the chart's runAsUser)", c.dockerfile, user)
			}
		})
	}
}

func TestDockerignoreKeepsTheSources(t *testing.T) {
	for _, l := range instructions(t, filepath.Join(repoRoot, ".dockerignore")) {
		switch strings.TrimPrefix(l, "/") {
		case "go.mod", "go.sum", "sidecar", "core", "adapter", "platforms", "*", "**":
			t.Errorf(".dockerignore excludes %s, which the build needs", l)
		}
	}
}

func TestBinaryIsStatic(t *testing.T) {
	bin := os.Getenv("TRUSTLY_TEST_SIDECAR_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot, "bin/trustly-sidecar")
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%v (make build creates it)", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked (it has an ELF interpreter); build with CGO_ENABLED=0", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("%s needs shared libraries %v; it would not run on scratch", bin, libs)
	}
}

// instructions are a file's lines without comments and blanks, continuations joined.
func instructions(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}
