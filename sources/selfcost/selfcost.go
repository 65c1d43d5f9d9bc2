// Package selfcost reads what netriage itself costs the host: the CPU
// time of all its threads and its resident memory, now and at its peak.
// A step shows it (top's status line, the flows record's "self"), so that
// whoever runs netriage on a host already short of CPU or memory, under a
// flood, sees what the tool adds to it.
//
// Both reads never wait and are made as raw system calls, which do not
// wake the runtime's monitor thread on an idle step (see
// sources/links/rawio_linux.go): getrusage(2) for the CPU time and the
// peak, a pread(2) of /proc/self/statm, opened once, for the resident
// pages now.
package selfcost

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netriage/triage"
)

// statmPath is the file of the process's own memory counters: a fixed
// path, never one a user names.
const statmPath = "/proc/self/statm"

// Reader reads the process's own cost. Close it when done.
type Reader struct {
	fd   int
	page uint64
	buf  [128]byte
}

// Open opens the reader.
func Open() (*Reader, error) {
	fd, err := unix.Open(statmPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("own memory counters (%s): %w", statmPath, err)
	}
	return &Reader{fd: fd, page: uint64(os.Getpagesize())}, nil
}

// ReadSelf returns the process's cost so far.
func (r *Reader) ReadSelf() (triage.SelfSample, error) {
	if r.fd < 0 {
		return triage.SelfSample{}, errors.New("own cost reader closed")
	}
	var ru unix.Rusage
	if _, _, e := unix.RawSyscall(unix.SYS_GETRUSAGE, uintptr(unix.RUSAGE_SELF), uintptr(unsafe.Pointer(&ru)), 0); e != 0 {
		return triage.SelfSample{}, fmt.Errorf("own CPU time (getrusage): %w", e)
	}
	n, err := rawPread(r.fd, r.buf[:], 0)
	if err != nil {
		return triage.SelfSample{}, fmt.Errorf("own memory counters (%s): %w", statmPath, err)
	}
	pages, err := ParseStatm(r.buf[:n])
	if err != nil {
		return triage.SelfSample{}, fmt.Errorf("own memory counters (%s): %w", statmPath, err)
	}
	return triage.SelfSample{
		CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		RSS:     pages * r.page,
		PeakRSS: uint64(max(ru.Maxrss, 0)) << 10, // kilobytes on Linux
	}, nil
}

// Close closes the reader.
func (r *Reader) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// ParseStatm returns the resident pages of a /proc/PID/statm line: its
// second field ("size resident shared text lib data dt", in pages).
func ParseStatm(b []byte) (uint64, error) {
	i := 0
	field := func() (uint64, bool) {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		start := i
		var v uint64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			d := uint64(b[i] - '0')
			if v > (1<<64-1-d)/10 {
				return 0, false
			}
			v = v*10 + d
			i++
		}
		if i == start || (i < len(b) && b[i] != ' ' && b[i] != '\n') {
			return 0, false
		}
		return v, true
	}
	if _, ok := field(); !ok {
		return 0, errors.New("not a statm line: no size in pages")
	}
	v, ok := field()
	if !ok {
		return 0, errors.New("not a statm line: no resident pages")
	}
	return v, nil
}

// rawPread is pread(2) without the runtime's system-call path.
func rawPread(fd int, b []byte, off int64) (int, error) {
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
