package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runnableDocs are the documents whose `sh runnable` blocks TestRunnableDocs
// runs, relative to the repository root.
var runnableDocs = []string{"README.md", "docs/adapters.md", "charts/trustly-sidecar/README.md"}

// docBlock is one fenced block marked runnable.
type docBlock struct {
	doc  string
	line int
	text string
}

// runnableBlocks finds the ```sh runnable blocks of a Markdown file.
func runnableBlocks(t *testing.T, doc string) []docBlock {
	t.Helper()
	f, err := os.Open(filepath.Join("..", doc))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh runnable":
			cur = &docBlock{doc: doc, line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestRunnableDocs runs every block marked `sh runnable` as written, so a
// command pasted from the docs works. Each runs in a scratch folder that
// holds the repository's top-level entries (as links: paths like
// sidecar/testdata/... resolve, while what the block writes stays in the
// scratch folder), bin/trustly-sidecar (built by TestMain) and
// trustly-sidecar (the repository, where docs/adapters.md expects a clone).
func TestRunnableDocs(t *testing.T) {
	if binPath == "" {
		t.Skip("go tool not found, binary not built")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	helm := os.Getenv("HELM")
	if helm == "" {
		helm = filepath.Join(root, ".cache", "tools", "helm")
	}
	total := 0
	for _, doc := range runnableDocs {
		blocks := runnableBlocks(t, doc)
		if len(blocks) == 0 {
			t.Errorf("%s has no runnable block", doc)
		}
		for _, b := range blocks {
			total++
			t.Run(strings.ReplaceAll(b.doc, "/", "_")+":"+strconv.Itoa(b.line), func(t *testing.T) {
				if strings.Contains(b.text, "helm ") {
					if _, err := os.Stat(helm); err != nil {
						t.Skipf("no helm at %s (make chart-test installs it)", helm)
					}
				}
				dir := scratch(t, root, helm)
				cmd := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", b.text)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s line %d, run as written: %v\n%s\n--- output:\n%s", b.doc, b.line, err, b.text, out)
				}
			})
		}
	}
	if total < 3 {
		t.Errorf("%d runnable blocks in all; the docs lost theirs", total)
	}
}

// scratch makes the folder a block runs in.
func scratch(t *testing.T, root, helm string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "bin" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(root, filepath.Join(dir, "trustly-sidecar")))
	must(os.Mkdir(filepath.Join(dir, "bin"), 0o755))
	must(os.Symlink(binPath, filepath.Join(dir, "bin", "trustly-sidecar")))
	if _, err := os.Stat(helm); err == nil {
		must(os.Symlink(helm, filepath.Join(dir, "bin", "helm")))
	}
	return dir
}
