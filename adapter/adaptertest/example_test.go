package adaptertest_test

import (
	"os/exec"
	"testing"
)

// TestOutOfTreeExamplePassesTheKit runs the conformance kit in
// adapter/examples/syncshop, a module of its own (so the root's go test ./... does
// not see it): the example in docs/adapters.md must keep passing.
func TestOutOfTreeExamplePassesTheKit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests another module")
	}
	cmd := exec.Command("go", "test", "-timeout", "120s", ".")
	cmd.Dir = "../examples/syncshop"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in adapter/examples/syncshop: %v\n%s", err, out)
	}
}
