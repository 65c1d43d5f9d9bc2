package privs

import (
	"errors"
	"fmt"
	"io/fs"
)

// Cap is a Linux capability number (linux/capability.h).
type Cap uint

// The capabilities netriage uses.
const (
	CapDacOverride   Cap = 1
	CapDacReadSearch Cap = 2
	CapNetAdmin      Cap = 12
	CapNetRaw        Cap = 13
	CapSysPtrace     Cap = 19
	CapSysAdmin      Cap = 21
)

// String returns the capability's name as setcap spells it, upper case.
func (c Cap) String() string {
	switch c {
	case CapDacOverride:
		return "CAP_DAC_OVERRIDE"
	case CapDacReadSearch:
		return "CAP_DAC_READ_SEARCH"
	case CapNetAdmin:
		return "CAP_NET_ADMIN"
	case CapNetRaw:
		return "CAP_NET_RAW"
	case CapSysPtrace:
		return "CAP_SYS_PTRACE"
	case CapSysAdmin:
		return "CAP_SYS_ADMIN"
	}
	return fmt.Sprintf("capability %d", uint(c))
}

// readCaps are the capabilities that bypass file permission checks (or, for
// CAP_SYS_PTRACE, /proc's ptrace checks). They are in effect only inside
// WithProcAccess.
const readCaps = 1<<CapDacOverride | 1<<CapDacReadSearch | 1<<CapSysPtrace

// Set is a capability bit mask.
type Set uint64

// Has reports whether c is in s.
func (s Set) Has(c Cap) bool { return s&(1<<c) != 0 }

// usable returns the capabilities a thread can use: the effective ones, plus
// the read capabilities it may raise from its permitted set.
func usable(eff, prm Set) Set { return eff | prm&readCaps }

// ErrNotRegular is wrapped by OpenUser's error for a path that is not a
// regular file (a FIFO, a device, a directory, a socket).
var ErrNotRegular = errors.New("not a regular file")

// notRegular describes a file mode for the error message.
func notRegular(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// Names reports, by name (CAP_NET_RAW, ...), which of caps the set
// holds.
func (s Set) Names(caps ...Cap) map[string]bool {
	m := make(map[string]bool, len(caps))
	for _, c := range caps {
		m[c.String()] = s.Has(c)
	}
	return m
}
