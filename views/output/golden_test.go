package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites the golden files under testdata/ (go test ./views/output -update).
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update. Every
// output is also checked for control characters other than newlines: no
// format may pass an escape sequence through.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	for _, c := range got {
		if c < 0x20 && c != '\n' || c == 0x7f {
			t.Errorf("%s: control character %#x in the output:\n%q", name, c, got)
			break
		}
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views/output -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./views/output -update to accept):\n%s", path, got)
	}
}
