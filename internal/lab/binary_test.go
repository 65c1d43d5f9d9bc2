package lab

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBinary: NETRIAGE_BIN wins; without it the binary is built once,
// outside the repository, and runs.
func TestBinary(t *testing.T) {
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv(EnvBinary, "/opt/netriage/bin/netriage")
		if got := Binary(t); got != "/opt/netriage/bin/netriage" {
			t.Errorf("Binary = %q, want $%s", got, EnvBinary)
		}
	})
	t.Run("built", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the binary")
		}
		t.Setenv(EnvBinary, "")
		bin := Binary(t)
		wd, _ := os.Getwd()
		if !strings.HasPrefix(bin, os.TempDir()) || strings.HasPrefix(bin, wd) {
			t.Errorf("built into %s, want the temporary directory", bin)
		}
		if again := Binary(t); again != bin {
			t.Errorf("built twice: %s then %s", bin, again)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.HasPrefix(string(out), "netriage ") {
			t.Errorf("%s version: %q, %v", bin, out, err)
		}
	})
}
