//go:build release

package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// make release-check: what `make release` left in dist/ is what a user
// would install. Behind the release build tag, since it needs dist/.

type release struct {
	dist, version, image, commit string
}

func releaseUnderTest(t *testing.T) release {
	t.Helper()
	r := release{
		dist:    os.Getenv("TRUSTLY_TEST_DIST"),
		version: os.Getenv("TRUSTLY_TEST_RELEASE_VERSION"),
		image:   os.Getenv("TRUSTLY_TEST_RELEASE_IMAGE"),
		commit:  os.Getenv("TRUSTLY_TEST_RELEASE_COMMIT"),
	}
	if r.dist == "" || r.version == "" || r.image == "" || r.commit == "" {
		t.Fatal("run through make release-check (TRUSTLY_TEST_DIST, _RELEASE_VERSION, _RELEASE_IMAGE, _RELEASE_COMMIT)")
	}
	return r
}

func (r release) path(name string) string { return filepath.Join(r.dist, name) }
func (r release) binary(arch string) string {
	return r.path("trustly-sidecar_" + r.version + "_linux_" + arch)
}

var releaseArches = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func TestReleaseChecksums(t *testing.T) {
	r := releaseUnderTest(t)
	f, err := os.Open(r.path("SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not 'SUM  NAME'", sc.Text())
		}
		listed[name] = true
		if got := sha256File(t, r.path(name)); got != sum {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got, sum)
		}
	}
	entries, err := os.ReadDir(r.dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != "SHA256SUMS" && !listed[e.Name()] {
			t.Errorf("%s is in dist/ but not in SHA256SUMS", e.Name())
		}
	}
	for _, want := range []string{
		"trustly-sidecar_" + r.version + "_linux_amd64", "trustly-sidecar_" + r.version + "_linux_arm64",
		"trustly-sidecar_" + r.version + ".cdx.json", "trustly-sidecar_" + r.version + "_licenses.txt",
		"trustly-sidecar-" + r.version + ".tgz", "trustly-sidecar-gateway." + r.version + ".zip",
		"trustly-sidecar-vendure-plugin-" + r.version + ".tgz",
	} {
		if !listed[want] {
			t.Errorf("SHA256SUMS lacks %s", want)
		}
	}
}

func TestReleaseBinaries(t *testing.T) {
	r := releaseUnderTest(t)
	for arch, machine := range releaseArches {
		t.Run(arch, func(t *testing.T) {
			bin := r.binary(arch)
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != machine {
				t.Errorf("ELF machine %v, want %v", f.Machine, machine)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("dynamically linked (it has an ELF interpreter)")
				}
			}
			out, err := exec.Command(goTool(), "version", "-m", bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"-trimpath=true", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("go version -m lacks %q", want)
				}
			}
			if runtime.GOOS != "linux" || runtime.GOARCH != arch {
				t.Skipf("a linux/%s binary does not run here", arch)
			}
			want := "trustly-sidecar " + r.version + " (commit " + stampedBuild(r.commit).commit() + ", "
			for _, args := range [][]string{{"version"}, {"--version"}} {
				cmd := exec.Command(bin, args...)
				cmd.Env = []string{} // runs with nothing set, as in an empty container
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				if !strings.HasPrefix(string(got), want) || !strings.Contains(string(got), "linux/"+arch) {
					t.Errorf("%v printed %q, want %q… linux/%s", args, got, want, arch)
				}
			}
		})
	}
}

// The build in make test shares the build cache; this one starts from an
// empty cache, in a copy of the tree at another path, and must still give
// the bytes in dist/.
func TestReleaseRebuildFromEmptyCache(t *testing.T) {
	r := releaseUnderTest(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	copyTree(t, root, src)
	dist := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", src, "release-binaries",
		"RELEASE_ARCHES=amd64", "DIST="+dist, "COMMIT="+r.commit)
	cmd.Env = append(os.Environ(), "GOCACHE="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := sha256File(t, filepath.Join(dist, filepath.Base(r.binary("amd64"))))
	if want := sha256File(t, r.binary("amd64")); got != want {
		t.Errorf("rebuilt from an empty cache: sha256 %s, dist/ has %s", got, want)
	}
}

func TestReleaseSBOM(t *testing.T) {
	r := releaseUnderTest(t)
	b, err := os.ReadFile(r.path("trustly-sidecar_" + r.version + ".cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct{ Name, Version string }
		}
		Components []struct{ Name, Version string }
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
		t.Errorf("bomFormat %q specVersion %q", bom.BOMFormat, bom.SpecVersion)
	}
	if bom.Metadata.Component.Name != "github.com/trustly-sidecar/trustly-sidecar" {
		t.Errorf("the SBOM describes %q", bom.Metadata.Component.Name)
	}
	have := map[string]bool{}
	for _, c := range bom.Components {
		have[c.Name+"@"+c.Version] = true
		if c.Name == adapterModule {
			// The SDK is built from ./adapter (replace), so the generator
			// names the commit, as it does the main module: the tag
			// vX.Y.Z on a release commit, else a pseudo-version.
			short := strings.TrimSuffix(r.commit, "+dirty")
			short = short[:min(12, len(short))]
			if c.Version != "v"+r.version && !strings.HasSuffix(c.Version, "-"+short) {
				t.Errorf("the SBOM's adapter SDK is %s, want v%s or a pseudo-version of %s", c.Version, r.version, short)
			}
			have[adapterModule+"@v"+r.version] = true
		}
	}
	// Every module the binary links is in it, at the version linked.
	for _, mod := range linkedModules(t, r.binary("amd64")) {
		if !have[mod] {
			t.Errorf("the SBOM lacks %s, which the binary links", mod)
		}
	}
}

// linkedModules are the dependencies `go version -m` lists, as PATH@VERSION.
func linkedModules(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command(goTool(), "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "dep" {
			mods = append(mods, f[1]+"@"+f[2])
		}
	}
	if len(mods) < 10 {
		t.Fatalf("go version -m lists %d modules", len(mods))
	}
	return mods
}

func TestReleaseLicences(t *testing.T) {
	r := releaseUnderTest(t)
	b, err := os.ReadFile(r.path("trustly-sidecar_" + r.version + "_licenses.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, "Apache License") {
		t.Error("the project's own licence is missing")
	}
	for _, mod := range linkedModules(t, r.binary("amd64")) {
		if strings.HasPrefix(mod, adapterModule+"@") {
			continue // this repository's own code
		}
		if !strings.Contains(text, "==== "+mod+": ") {
			t.Errorf("no licence of %s", mod)
		}
	}
	for _, mpl := range []string{"github.com/hashicorp/go-plugin", "github.com/hashicorp/yamux"} {
		if !strings.Contains(text, "go mod download "+mpl+"@") {
			t.Errorf("%s (MPL-2.0): where its source is is not said", mpl)
		}
	}
}

func TestReleaseChart(t *testing.T) {
	r := releaseUnderTest(t)
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Fatal("HELM not set (make release-check sets it)")
	}
	chart := r.path("trustly-sidecar-" + r.version + ".tgz")
	for _, name := range tarNames(t, chart) {
		if strings.HasPrefix(name, "trustly-sidecar/tests/") {
			t.Errorf("the package holds the chart's tests: %s", name)
		}
	}
	meta, err := exec.Command(helm, "show", "chart", chart).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nversion: " + r.version + "\n", "\nappVersion: " + r.version + "\n"} {
		if !strings.Contains("\n"+string(meta), want) {
			t.Errorf("helm show chart lacks %q:\n%s", strings.TrimSpace(want), meta)
		}
	}
	// The defaults, and only the settings the chart cannot guess.
	out, err := exec.Command(helm, "template", "pay", chart, "--kube-version", "1.29",
		"--set", "trustly.username=my-shop", "--set", "publicBaseURL=https://pay.example.com",
		"--set", "secrets.existingSecret=trustly-sidecar", "--set", "redis.addrs={redis-master:6379}",
		"--set", "networkPolicy.publicFromAnywhere=true").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	if want := `image: "` + r.image + `"`; !strings.Contains(string(out), want) {
		t.Errorf("the chart's default image is not the release's: no %s in\n%s", want, linesWith(string(out), "image:"))
	}
}

func TestReleaseWordPressZip(t *testing.T) {
	r := releaseUnderTest(t)
	const plugin = "trustly-sidecar-gateway"
	zr, err := zip.OpenReader(r.path(plugin + "." + r.version + ".zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	// WordPress unpacks an uploaded plugin zip into wp-content/plugins.
	plugins := filepath.Join(t.TempDir(), "wp-content", "plugins")
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, plugin+"/") || strings.Contains(f.Name, "..") {
			t.Errorf("%s: not inside %s/", f.Name, plugin)
			continue
		}
		if f.FileInfo().IsDir() {
			continue
		}
		dst := filepath.Join(plugins, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What it installs is the plugin folder of this commit, file for file.
	src := filepath.Join("..", "platforms", "woocommerce", "wordpress-plugin", plugin)
	want := treeFiles(t, src)
	got := treeFiles(t, filepath.Join(plugins, plugin))
	for name, b := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("the zip lacks %s", name)
		} else if !bytes.Equal(g, b) {
			t.Errorf("%s in the zip differs from the repository's", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("the zip holds %s, which the plugin folder does not", name)
		}
	}
	if !bytes.Contains(got[plugin+".php"], []byte("\n * Version: "+r.version+"\n")) {
		t.Errorf("the installed plugin's header is not Version: %s", r.version)
	}
	if php, err := exec.LookPath("php"); err == nil {
		if out, err := exec.Command(php, "-l", filepath.Join(plugins, plugin, plugin+".php")).CombinedOutput(); err != nil {
			t.Errorf("php -l: %v\n%s", err, out)
		}
	}
}

func TestReleaseVendureTarball(t *testing.T) {
	r := releaseUnderTest(t)
	tgz := r.path("trustly-sidecar-vendure-plugin-" + r.version + ".tgz")
	files := tarFiles(t, tgz)
	var pkg struct{ Name, Version, Main, Types, License string }
	if err := json.Unmarshal(files["package/package.json"], &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "@trustly-sidecar/vendure-plugin" || pkg.Version != r.version {
		t.Errorf("package.json: %s@%s", pkg.Name, pkg.Version)
	}
	for _, f := range []string{pkg.Main, pkg.Types} {
		if len(files["package/"+f]) == 0 {
			t.Errorf("the tarball lacks %s (package.json names it): was it built?", f)
		}
	}
	if pkg.License != "Apache-2.0" {
		t.Errorf("package.json: license %q, want the project's Apache-2.0", pkg.License)
	}
	for name := range files {
		// Only what a shop installs: the built plugin, no sources, tests
		// or dependencies.
		if strings.Contains(name, "node_modules/") || strings.HasPrefix(name, "package/src/") || strings.HasPrefix(name, "package/test/") {
			t.Errorf("the tarball holds %s", name)
		}
	}
}

func TestReleaseImageContexts(t *testing.T) {
	r := releaseUnderTest(t)
	dockerfile, err := os.ReadFile("../Dockerfile.scratch")
	if err != nil {
		t.Fatal(err)
	}
	for arch := range releaseArches {
		t.Run(arch, func(t *testing.T) {
			ctx := r.path("image-linux-" + arch)
			got := treeFiles(t, ctx)
			if len(got) != 3 {
				t.Errorf("the context holds %d files, want Dockerfile, trustly-sidecar, ca-certificates.crt", len(got))
			}
			if !bytes.Equal(got["Dockerfile"], dockerfile) {
				t.Error("its Dockerfile is not Dockerfile.scratch")
			}
			if sha256File(t, filepath.Join(ctx, "trustly-sidecar")) != sha256File(t, r.binary(arch)) {
				t.Error("its trustly-sidecar is not the released binary")
			}
			n := 0
			for rest := got["ca-certificates.crt"]; ; {
				var blk *pem.Block
				if blk, rest = pem.Decode(rest); blk == nil {
					break
				}
				if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n < 10 {
				t.Errorf("ca-certificates.crt holds %d certificates", n)
			}
		})
	}
}

func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func tarFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

func tarNames(t *testing.T, path string) []string {
	var names []string
	for name := range tarFiles(t, path) {
		names = append(names, name)
	}
	return names
}

func linesWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
