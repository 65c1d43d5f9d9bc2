// Package selfcost reads what netriage itself costs the host: the CPU
// time of all its threads, and its resident memory now and at its peak.
// A step shows it (top's status line, the flows record's "self"), so that
// whoever runs netriage on a host already short of CPU or memory, under a
// flood, sees what the tool adds to it.
//
// The reads never wait and are made as raw system calls, which do not
// wake the runtime's monitor thread on an idle step (see
// sources/rawio): getrusage(2) for the CPU time,
// clock_gettime(2) for the moment of the read, and a pread(2) of
// /proc/self/status, opened once, for VmRSS and VmHWM. The peak is
// VmHWM, not getrusage's ru_maxrss: the kernel carries ru_maxrss over an
// execve from the memory the process had before it, which after a vfork
// (how Go's os/exec and many supervisors start programs) is the parent's.
package selfcost

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netriage/sources/rawio"
	"netriage/triage"
)

// statusPath is the file of the process's own status: a fixed path,
// never one a user names.
const statusPath = "/proc/self/status"

// Reader reads the process's own cost. One goroutine calls it; close it
// when done.
type Reader struct {
	fd  int
	buf [4096]byte // the status file is about 1.4 KB; VmRSS comes in its first 600 bytes
}

// Open opens the reader.
func Open() (*Reader, error) {
	fd, err := unix.Open(statusPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("own status (%s): %w", statusPath, err)
	}
	return &Reader{fd: fd}, nil
}

// ReadSelf returns the process's cost so far.
func (r *Reader) ReadSelf() (triage.SelfSample, error) {
	if r.fd < 0 {
		return triage.SelfSample{}, errors.New("own cost reader closed")
	}
	var ts unix.Timespec
	if _, _, e := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, uintptr(unix.CLOCK_MONOTONIC), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return triage.SelfSample{}, fmt.Errorf("monotonic clock: %w", e)
	}
	var ru unix.Rusage
	if _, _, e := unix.RawSyscall(unix.SYS_GETRUSAGE, uintptr(unix.RUSAGE_SELF), uintptr(unsafe.Pointer(&ru)), 0); e != 0 {
		return triage.SelfSample{}, fmt.Errorf("own CPU time (getrusage): %w", e)
	}
	n, err := rawio.Pread(r.fd, r.buf[:], 0)
	if err != nil {
		return triage.SelfSample{}, fmt.Errorf("own status (%s): %w", statusPath, err)
	}
	rss, hwm, err := ParseStatus(r.buf[:n])
	if err != nil {
		return triage.SelfSample{}, fmt.Errorf("own status (%s): %w", statusPath, err)
	}
	return triage.SelfSample{
		At:      time.Duration(ts.Nano()),
		CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		RSS:     rss,
		PeakRSS: hwm,
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

// ParseStatus returns the resident bytes now and at the peak (VmRSS and
// VmHWM, in kB) of a /proc/PID/status text.
func ParseStatus(b []byte) (rss, hwm uint64, err error) {
	var haveRSS, haveHWM bool
	for len(b) > 0 && !(haveRSS && haveHWM) {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		var dst *uint64
		var name string
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst, name, haveRSS = &rss, "VmRSS", true
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst, name, haveHWM = &hwm, "VmHWM", true
		default:
			continue
		}
		v, ok := kilobytes(line[len(name)+1:])
		if !ok {
			return 0, 0, fmt.Errorf("not a status file: its %s line is not a size in kB", name)
		}
		*dst = v
	}
	if !haveRSS || !haveHWM {
		return 0, 0, errors.New("not a status file: no VmRSS and VmHWM lines")
	}
	return rss, max(hwm, rss), nil
}

// kilobytes parses "   1764 kB" (blanks, digits, " kB") to bytes.
func kilobytes(b []byte) (uint64, bool) {
	b = bytes.TrimLeft(b, " \t")
	num, ok := bytes.CutSuffix(b, []byte(" kB"))
	if !ok || len(num) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<54-1-d)/10 { // the result in bytes (<< 10) must fit
			return 0, false
		}
		v = v*10 + d
	}
	return v << 10, true
}
