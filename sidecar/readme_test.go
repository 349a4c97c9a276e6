package main

import (
	"os"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// The README's configuration table is generated from Config; this test fails
// when it is out of date and rewrites it with -update.
const (
	readmePath       = "../README.md"
	readmeTableStart = "<!-- config table: generated from sidecar/internal/config/config.go by `go test ./sidecar -run TestREADMEConfigTable -update` -->\n"
	readmeTableEnd   = "<!-- end of config table -->\n"
)

func TestREADMEConfigTable(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	before, rest, ok := strings.Cut(readme, readmeTableStart)
	if !ok {
		t.Fatalf("%s lacks the line %q", readmePath, readmeTableStart)
	}
	current, after, ok := strings.Cut(rest, readmeTableEnd)
	if !ok {
		t.Fatalf("%s lacks the line %q", readmePath, readmeTableEnd)
	}
	want := config.Table((&config.Config{}).Variables())
	if current == want {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(before+readmeTableStart+want+readmeTableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration table is out of date; run: go test ./sidecar -run TestREADMEConfigTable -update")
}
