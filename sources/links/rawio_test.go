package links

import (
	"testing"

	"golang.org/x/sys/unix"
)

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
