package manpages

import (
	"bytes"
	"os"
	"path/filepath"
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
