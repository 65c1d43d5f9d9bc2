package links

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRawPread(t *testing.T) {
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
		n, err := rawPread(fd, b, tc.off)
		if err != nil || string(b[:n]) != tc.want {
			t.Errorf("rawPread(off %d, %d bytes) = %q, %v; want %q", tc.off, tc.size, b[:n], err, tc.want)
		}
	}
	if _, err := rawPread(-1, make([]byte, 4), 0); err != unix.EBADF {
		t.Errorf("rawPread on a closed descriptor: %v, want EBADF", err)
	}
}

func TestRawSendRecv(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	b := make([]byte, 16)
	if _, err := rawRecv(fds[1], b); err != unix.EAGAIN {
		t.Fatalf("rawRecv with nothing queued: %v, want EAGAIN (it must not wait)", err)
	}
	if err := rawSend(fds[0], []byte("probe")); err != nil {
		t.Fatal(err)
	}
	n, err := rawRecv(fds[1], b)
	if err != nil || string(b[:n]) != "probe" {
		t.Fatalf("rawRecv = %q, %v; want \"probe\"", b[:n], err)
	}
	if n, err := rawRecv(fds[1], nil); n != 0 || err != nil {
		t.Errorf("rawRecv into an empty buffer = %d, %v", n, err)
	}
}
