package adapter

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates the protobuf code into a temporary
// directory and compares it with the committed files. It needs the pinned
// generators in .cache/tools (`make proto` installs them); without them it
// skips rather than download a toolchain in a unit test.
func TestGeneratedCodeIsFresh(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(root, ".cache", "tools")
	for _, tool := range []string{"buf", "protoc-gen-go", "protoc-gen-go-grpc"} {
		if _, err := os.Stat(filepath.Join(tools, tool)); err != nil {
			t.Skipf("%s not installed in .cache/tools (run make proto once)", tool)
		}
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(tools, "buf"), "generate", "adapter/proto", "--template", "adapter/proto/buf.gen.yaml", "-o", out)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buf generate: %v\n%s", err, b)
	}
	for _, f := range []string{"adapter.pb.go", "adapter_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(out, "adapter", "internal", "pb", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("internal", "pb", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("adapter/internal/pb/%s is stale: run make proto and commit", f)
		}
	}
}
