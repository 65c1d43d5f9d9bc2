package rawio

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPread(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, tc := range []struct {
		off  int64
		size int
		want string
	}{{0, 4, "0123"}, {6, 16, "6789"}, {10, 4, ""}, {3, 0, ""}} {
		b := make([]byte, tc.size)
		n, err := Pread(fd, b, tc.off)
		if err != nil || string(b[:n]) != tc.want {
			t.Errorf("Pread(off %d, %d bytes) = %q, %v; want %q", tc.off, tc.size, b[:n], err, tc.want)
		}
	}
	if _, err := Pread(-1, make([]byte, 4), 0); err != unix.EBADF {
		t.Errorf("rawPread on a closed descriptor: %v, want EBADF", err)
	}
}
