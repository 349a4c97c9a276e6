package adapter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		err  string
	}{
		{"from the variable", map[string]string{"X": "v"}, "v", ""},
		{"from a file, its newline dropped", map[string]string{"X_FILE": file}, "s3cret", ""},
		{"both", map[string]string{"X": "v", "X_FILE": file}, "", "both set"},
		{"a missing file", map[string]string{"X_FILE": file + ".nope"}, "", "X_FILE"},
		{"neither", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SecretFromEnv(func(k string) string { return tc.env[k] }, "X")
			if string(got) != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("= %q, %v; want %q, error containing %q", got, err, tc.want, tc.err)
			}
		})
	}
}
