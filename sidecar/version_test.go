package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// The project has one version number (CONTRIBUTING.md, "Versions"): the
// Makefile's RELEASE_VERSION. Everything a user installs carries it, and this
// test fails when one of them drifts, naming the file and the line to change.

// versionSite is one place a version is written. re has one group, the
// version; prefix is what stands before the number there ("v" in a go.mod).
type versionSite struct {
	file, what, prefix string
	re                 *regexp.Regexp
}

const adapterModule = "github.com/trustly-sidecar/trustly-sidecar/adapter"

var (
	releaseVersionRe = regexp.MustCompile(`(?m)^RELEASE_VERSION := (\S+)$`)
	staticSites      = []versionSite{
		{file: "charts/trustly-sidecar/Chart.yaml", what: "the chart's version", re: regexp.MustCompile(`(?m)^version: (\S+)$`)},
		{file: "charts/trustly-sidecar/Chart.yaml", what: "the chart's appVersion (the image tag)", re: regexp.MustCompile(`(?m)^appVersion: "([^"]+)"$`)},
		{file: "charts/trustly-sidecar/values.yaml", what: "the chart's default image.tag", re: regexp.MustCompile(`(?m)^image:\n(?:  .*\n)*?  tag: "([^"]+)"$`)},
		{file: "charts/examples/shop/Chart.yaml", what: "the example shop's dependency on the chart", re: regexp.MustCompile(`(?m)- name: trustly-sidecar\n\s+version: (\S+)$`)},
		{file: "charts/trustly-sidecar/README.md", what: "the chart README's dependency example", re: regexp.MustCompile(`(?m)- name: trustly-sidecar\n\s+version: (\S+)$`)},
		{file: "platforms/woocommerce/wordpress-plugin/trustly-sidecar-gateway/trustly-sidecar-gateway.php", what: "the WordPress plugin header's Version", re: regexp.MustCompile(`(?m)^ \* Version: (\S+)$`)},
		{file: "platforms/woocommerce/wordpress-plugin/trustly-sidecar-gateway/trustly-sidecar-gateway.php", what: "TRUSTLY_SIDECAR_VERSION", re: regexp.MustCompile(`define\( 'TRUSTLY_SIDECAR_VERSION', '([^']+)' \);`)},
		{file: "platforms/woocommerce/wordpress-plugin/trustly-sidecar-gateway/readme.txt", what: "the WordPress readme's Stable tag", re: regexp.MustCompile(`(?m)^Stable tag: (\S+)$`)},
		{file: "platforms/vendure/plugin/package.json", what: "the Vendure plugin's version", re: regexp.MustCompile(`(?m)^  "version": "([^"]+)",$`)},
		// npm writes the root package's version twice into its lockfile.
		{file: "platforms/vendure/plugin/package-lock.json", what: "the lockfile's version", re: regexp.MustCompile(`(?m)^  "version": "([^"]+)",$`)},
		{file: "platforms/vendure/plugin/package-lock.json", what: "the lockfile's root package version", re: regexp.MustCompile(`(?m)^    "": \{\n(?:      .*\n)*?      "version": "([^"]+)",$`)},
	}
	// A module that requires the adapter SDK names the version it is
	// released with, though the replace directive builds it from ./adapter:
	// that is what `go version -m` and the SBOM then report.
	adapterRequireRe = regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(adapterModule) + ` (\S+)(?:\s*//.*)?$`)
)

// versionSites are staticSites and every go.mod in fsys that requires the
// adapter SDK.
func versionSites(fsys fs.FS) ([]versionSite, error) {
	sites := append([]versionSite(nil), staticSites...)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch name := d.Name(); {
			case p != "." && strings.HasPrefix(name, "."), name == "node_modules", name == "dist", name == "bin", name == "testdata":
				return fs.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" || p == "adapter/go.mod" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if adapterRequireRe.Match(b) {
			sites = append(sites, versionSite{file: p, what: "its require of the adapter SDK (tagged adapter/vX.Y.Z)", prefix: "v", re: adapterRequireRe})
		}
		return nil
	})
	return sites, err
}

// releaseVersion is the Makefile's RELEASE_VERSION.
func releaseVersion(fsys fs.FS) (string, error) {
	b, err := fs.ReadFile(fsys, "Makefile")
	if err != nil {
		return "", err
	}
	m := releaseVersionRe.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("the Makefile has no line %q", "RELEASE_VERSION := X.Y.Z")
	}
	v := string(m[1])
	if _, ok := parseSemver(v); !ok {
		return "", fmt.Errorf("the Makefile's RELEASE_VERSION %q is not MAJOR.MINOR.PATCH", v)
	}
	return v, nil
}

// checkVersions returns RELEASE_VERSION and one line per site that says
// another version, or none.
func checkVersions(fsys fs.FS) (string, []string, error) {
	want, err := releaseVersion(fsys)
	if err != nil {
		return "", nil, err
	}
	sites, err := versionSites(fsys)
	if err != nil {
		return "", nil, err
	}
	var drift []string
	for _, s := range sites {
		b, err := fs.ReadFile(fsys, s.file)
		if err != nil {
			return "", nil, err
		}
		m := s.re.FindSubmatchIndex(b)
		if m == nil {
			drift = append(drift, fmt.Sprintf("%s: %s not found (pattern %s)", s.file, s.what, s.re))
			continue
		}
		if got := string(b[m[2]:m[3]]); got != s.prefix+want {
			line := bytes.Count(b[:m[2]], []byte("\n")) + 1
			drift = append(drift, fmt.Sprintf("%s:%d: %s is %s, RELEASE_VERSION is %s", s.file, line, s.what, got, want))
		}
	}
	if err := checkChangelog(fsys, want); err != nil {
		drift = append(drift, err.Error())
	}
	return want, drift, nil
}

var changelogHeadingRe = regexp.MustCompile(`(?m)^## \[([^\]]+)\]`)

// checkChangelog wants an Unreleased section first and no released section
// newer than RELEASE_VERSION (which names the release being prepared, or,
// on the release commit itself, the one just written down).
func checkChangelog(fsys fs.FS, want string) error {
	b, err := fs.ReadFile(fsys, "CHANGELOG.md")
	if err != nil {
		return err
	}
	headings := changelogHeadingRe.FindAllSubmatch(b, -1)
	if len(headings) == 0 || string(headings[0][1]) != "Unreleased" {
		return fmt.Errorf("CHANGELOG.md: the first section must be ## [Unreleased]")
	}
	wv, _ := parseSemver(want)
	for _, h := range headings[1:] {
		v, ok := parseSemver(string(h[1]))
		if !ok {
			return fmt.Errorf("CHANGELOG.md: section [%s] is not a version", h[1])
		}
		if compareSemver(v, wv) > 0 {
			return fmt.Errorf("CHANGELOG.md: section [%s] is newer than RELEASE_VERSION %s", h[1], want)
		}
	}
	return nil
}

func parseSemver(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func compareSemver(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return 0
}

func TestVersionsMoveTogether(t *testing.T) {
	want, drift, err := checkVersions(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drift {
		t.Error(d)
	}
	if len(drift) > 0 {
		t.Logf("every place above carries RELEASE_VERSION %s (CONTRIBUTING.md, \"Versions\")", want)
	}
}

// Each site, changed on its own, is caught: the check reads every one.
func TestVersionDriftIsCaught(t *testing.T) {
	real := os.DirFS("..")
	sites, err := versionSites(real)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) <= len(staticSites) {
		t.Fatalf("no go.mod requires %s; the adapter SDK's version is checked nowhere", adapterModule)
	}
	base := fstest.MapFS{}
	for _, f := range append([]string{"Makefile", "CHANGELOG.md"}, siteFiles(sites)...) {
		b, err := fs.ReadFile(real, f)
		if err != nil {
			t.Fatal(err)
		}
		base[f] = &fstest.MapFile{Data: b}
	}
	if _, drift, err := checkVersions(base); err != nil || len(drift) > 0 {
		t.Fatalf("the copy of the real files drifts already: %v %q", err, drift)
	}
	want, _ := releaseVersion(base)
	for i, s := range sites {
		t.Run(fmt.Sprintf("%d %s %s", i, s.file, s.what), func(t *testing.T) {
			fsys := clone(base)
			b := fsys[s.file].Data
			m := s.re.FindSubmatchIndex(b)
			fsys[s.file] = &fstest.MapFile{Data: slices.Concat(b[:m[2]], []byte(s.prefix+"9.9.9"), b[m[3]:])}
			_, drift, err := checkVersions(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if len(drift) != 1 || !strings.Contains(drift[0], s.file) || !strings.Contains(drift[0], "9.9.9") {
				t.Errorf("%s set to 9.9.9 (RELEASE_VERSION %s): drift %q, want one line naming it", s.what, want, drift)
			}
		})
	}

	bad := []struct {
		name, file, from, to, wantErr string
	}{
		{"RELEASE_VERSION missing", "Makefile", "RELEASE_VERSION := ", "RELEASE_VERSION = ", "has no line"},
		{"RELEASE_VERSION not semver", "Makefile", "RELEASE_VERSION := " + want, "RELEASE_VERSION := v" + want, "not MAJOR.MINOR.PATCH"},
		{"changelog without Unreleased first", "CHANGELOG.md", "\n## [Unreleased]\n", "\n## [Next]\n", "must be ## [Unreleased]"},
		{"changelog ahead of the Makefile", "CHANGELOG.md", "\n## [Unreleased]\n", "\n## [Unreleased]\n\n## [99.0.0] - 2027-01-01\n", "newer than RELEASE_VERSION"},
		{"changelog section that is no version", "CHANGELOG.md", "\n## [Unreleased]\n", "\n## [Unreleased]\n\n## [soon]\n", "is not a version"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fsys := clone(base)
			b := fsys[tt.file].Data
			if !bytes.Contains(b, []byte(tt.from)) {
				t.Fatalf("%s lacks %q", tt.file, tt.from)
			}
			fsys[tt.file] = &fstest.MapFile{Data: bytes.Replace(b, []byte(tt.from), []byte(tt.to), 1)}
			_, drift, err := checkVersions(fsys)
			if got := fmt.Sprint(err, drift); !strings.Contains(got, tt.wantErr) {
				t.Errorf("got %s, want %q", got, tt.wantErr)
			}
		})
	}
}

// A release is tagged vX.Y.Z and adapter/vX.Y.Z on one commit; a tag on
// HEAD names RELEASE_VERSION.
func TestReleaseTagsPair(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	out, err := exec.Command(git, "-C", "..", "tag", "--list", "v*", "adapter/v*", "--format", "%(refname:short) %(*objectname)%(objectname)").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	want, err := releaseVersion(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	head, _ := exec.Command(git, "-C", "..", "rev-parse", "HEAD").Output()
	for _, p := range tagProblems(string(out), strings.TrimSpace(string(head)), want) {
		t.Error(p)
	}
}

// tagProblems reads lines "TAG COMMIT" (an annotated tag's peeled commit
// first) and says which release tags lack their pair or name another version
// on HEAD.
func tagProblems(list, head, want string) []string {
	commits := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		tag, commit, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		commits[tag] = commit[:min(40, len(commit))]
	}
	var problems []string
	for tag, commit := range commits {
		v, isSDK := strings.CutPrefix(tag, "adapter/")
		if _, ok := parseSemver(strings.TrimPrefix(v, "v")); !ok {
			continue
		}
		pair := "adapter/" + tag
		if isSDK {
			pair = v
		}
		if commits[pair] != commit {
			problems = append(problems, fmt.Sprintf("tag %s (%.12s) has no %s on the same commit", tag, commit, pair))
		}
		if !isSDK && commit == head && v != "v"+want {
			problems = append(problems, fmt.Sprintf("HEAD is tagged %s but RELEASE_VERSION is %s", tag, want))
		}
	}
	return problems
}

func TestTagProblems(t *testing.T) {
	const a, b = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	tests := []struct {
		name, list, head string
		want             []string
	}{
		{"no tags", "", a, nil},
		{"paired on HEAD", "v0.1.0 " + a + "\nadapter/v0.1.0 " + a, a, nil},
		{"paired, older release", "v0.0.9 " + b + "\nadapter/v0.0.9 " + b, a, nil},
		{"sidecar tag alone", "v0.1.0 " + a, a, []string{"tag v0.1.0 (aaaaaaaaaaaa) has no adapter/v0.1.0"}},
		{"SDK tag alone", "adapter/v0.1.0 " + a, b, []string{"tag adapter/v0.1.0 (aaaaaaaaaaaa) has no v0.1.0"}},
		{"pair on two commits", "v0.1.0 " + a + "\nadapter/v0.1.0 " + b, a, []string{"has no adapter/v0.1.0", "has no v0.1.0"}},
		{"HEAD tagged with another version", "v0.0.9 " + a + "\nadapter/v0.0.9 " + a, a, []string{"HEAD is tagged v0.0.9 but RELEASE_VERSION is 0.1.0"}},
		{"other tags ignored", "vendure-spike " + a + "\nv1 " + b, a, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tagProblems(tt.list, tt.head, "0.1.0")
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			joined := strings.Join(got, "\n")
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("got %q, want one containing %q", got, w)
				}
			}
		})
	}
}

func siteFiles(sites []versionSite) []string {
	seen := map[string]bool{}
	var files []string
	for _, s := range sites {
		if !seen[s.file] {
			seen[s.file] = true
			files = append(files, path.Clean(s.file))
		}
	}
	return files
}

func clone(m fstest.MapFS) fstest.MapFS {
	c := fstest.MapFS{}
	for k, v := range m {
		c[k] = &fstest.MapFile{Data: append([]byte(nil), v.Data...)}
	}
	return c
}

// What `version` prints for the commit the Makefile stamps.
func TestCommitStamp(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct{ stamp, want string }{
		{rev, "0123456789ab"},
		{rev + "+dirty", "0123456789ab+dirty"},
		{"abc", "abc"},
		{"abc+dirty", "abc+dirty"},
	}
	for _, tt := range tests {
		if got := stampedBuild(tt.stamp).commit(); got != tt.want {
			t.Errorf("stamp %q: commit %q, want %q", tt.stamp, got, tt.want)
		}
	}
	// Without a stamp the toolchain's (none under go test) decides.
	if got := stampedBuild("").commit(); got != "unknown" {
		t.Errorf("no stamp under go test: commit %q, want unknown", got)
	}
}

// The adapter SDK is fetched as a module of its own, whose zip holds only
// adapter/: it needs its own copy of the licence, the same text.
func TestLicenseFiles(t *testing.T) {
	top, err := os.ReadFile("../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(top, []byte("Apache License\n                           Version 2.0, January 2004")) {
		t.Error("LICENSE is not the Apache License 2.0")
	}
	sdk, err := os.ReadFile("../adapter/LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(top, sdk) {
		t.Error("adapter/LICENSE differs from LICENSE; copy it: cp LICENSE adapter/LICENSE")
	}
}
