package links

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The reads a still step makes (the notification socket, the probe's two
// dumps, the softirq rows and conntrack's count) never wait: a netlink
// dump is answered in the sending and the receiving call themselves, and
// a /proc or sysfs statistics file is formatted from memory. They are made
// as raw system calls, which do not go through the runtime's system-call
// path: that path wakes the runtime's monitor thread (sysmon) from its
// idle sleep at the first call of each step, which then polls every 20 µs
// for as long as the step runs (BenchmarkIdle's links figures in
// docs/benchmarks.md). A call that would wait returns EAGAIN (netlink,
// MSG_DONTWAIT), and the caller falls back to the ordinary call. The file
// reads are rawio.Pread.

// rawRecv is recvfrom(2) with MSG_DONTWAIT and no address, without the
// runtime's system-call path; it returns EAGAIN when nothing is queued.
func rawRecv(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// rawSend is sendto(2) with MSG_DONTWAIT on a connected socket, without
// the runtime's system-call path; it returns EAGAIN when the call would
// wait.
func rawSend(fd int, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}
