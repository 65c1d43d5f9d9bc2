package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// EnvBinary names the netriage binary the tests run; make integration
// and make e2e build bin/netriage and set it.
const EnvBinary = "NETRIAGE_BIN"

var built struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the netriage binary for a test that runs it: $NETRIAGE_BIN
// when set, else one built from this checkout's cmd/netriage, once per
// test process, into a directory of the system's temporary directory that
// belongs to this checkout (never into the repository). A failed build
// fails the test.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv(EnvBinary); b != "" {
		return b
	}
	built.once.Do(func() { built.path, built.err = buildBinary() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// buildBinary builds netriage/cmd/netriage into nr-lab-HASH/netriage
// under the temporary directory, HASH naming the checkout's go.mod, so
// that checkouts side by side do not run each other's binary. It builds
// under a name of its own and renames that into place: the test
// processes of other packages may build and run the same path at once.
func buildBinary() (string, error) {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("lab: go env GOMOD: %v", err)
	}
	sum := sha256.Sum256(bytes.TrimSpace(mod))
	dir := filepath.Join(os.TempDir(), "nr-lab-"+hex.EncodeToString(sum[:4]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lab: %v", err)
	}
	path := filepath.Join(dir, "netriage")
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	if out, err := exec.Command("go", "build", "-o", tmp, "netriage/cmd/netriage").CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("lab: go build: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("lab: %v", err)
	}
	return path, nil
}
