// Package rawio holds the system calls that never wait made as raw
// system calls: they do not go through the runtime's system-call path,
// which wakes the runtime's monitor thread (sysmon) from its idle sleep
// at the first ordinary call of each step, after which it polls every
// 20 µs for as long as the step runs (BenchmarkIdle's figures in
// docs/benchmarks.md). Only for calls that cannot block: a raw call that
// waited would hold its processor, and the collector's stop-the-world
// with it.
package rawio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pread is pread(2) without the runtime's system-call path, for files
// read from memory (/proc and sysfs statistics files), never for ones
// that could wait on a disk or a device.
func Pread(fd int, b []byte, off int64) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(off), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}
