package manpages

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leolab/cmd"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(cmd.NewRoot(), dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"leolab.1", "leolab-deploy.1", "leolab-image-prune.1", "leolab-completion.1"} {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !bytes.Contains(data, []byte(".SH EXAMPLE")) {
			t.Errorf("man page %s: %v (has EXAMPLE section: %v)", page, err, bytes.Contains(data, []byte(".SH EXAMPLE")))
		}
	}
}

// TestPageTitles: every page's .TH title is its own command (LEOLAB-DEPLOY
// for leolab-deploy.1, as man shows it in the header), in freshly
// generated pages and in the committed docs/man (issue 14 item 13).
func TestPageTitles(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(cmd.NewRoot(), dir); err != nil {
		t.Fatal(err)
	}
	committed, _ := filepath.Glob("../../docs/man/*.1")
	generated, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(committed) == 0 || len(committed) != len(generated) {
		t.Fatalf("%d committed pages, %d generated (run make man)", len(committed), len(generated))
	}
	for _, page := range append(committed, generated...) {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		title := strings.ToUpper(strings.TrimSuffix(filepath.Base(page), ".1"))
		if want := ".TH \"" + title + "\" \"1\""; !bytes.Contains(data, []byte("\n"+want+" ")) {
			line, _, _ := strings.Cut(string(data[bytes.Index(data, []byte(".TH")):]), "\n")
			t.Errorf("%s: %q, want title %s", page, line, title)
		}
	}
}
