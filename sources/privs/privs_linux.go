package privs

/*
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

// netriage_lowered holds the read capabilities the constructor took out of
// the effective set (a mask over the first 64 capabilities).
static unsigned long long netriage_lowered;

// netriage_lower_read_caps runs before the Go runtime starts its first
// thread, so every thread inherits the lowered effective set.
__attribute__((constructor)) static void netriage_lower_read_caps(void) {
	if (getuid() == 0)
		return;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return;
	int caps[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE };
	unsigned long long lowered = 0;
	for (unsigned i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		int c = caps[i];
		if (d[c / 32].effective & (1u << (c % 32))) {
			d[c / 32].effective &= ~(1u << (c % 32));
			lowered |= 1ull << c;
		}
	}
	if (lowered != 0 && syscall(SYS_capset, &h, d) == 0)
		netriage_lowered = lowered;
}

static unsigned long long netriage_lowered_caps(void) { return netriage_lowered; }
*/
import "C"

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Lowered returns the read capabilities taken out of effect at start-up
// (empty when running as root or without them).
func Lowered() Set { return Set(C.netriage_lowered_caps()) }

// threadCaps returns the calling thread's effective and permitted sets.
func threadCaps() (eff, prm Set, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&hdr, &d[0]); err != nil {
		return 0, 0, fmt.Errorf("read capabilities: %w", err)
	}
	eff = Set(d[0].Effective) | Set(d[1].Effective)<<32
	prm = Set(d[0].Permitted) | Set(d[1].Permitted)<<32
	return eff, prm, nil
}

// setEffective sets the calling thread's effective set to eff, keeping its
// permitted and inheritable sets.
func setEffective(eff Set) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&hdr, &d[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	d[0].Effective = uint32(eff)
	d[1].Effective = uint32(eff >> 32)
	if err := unix.Capset(&hdr, &d[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	return nil
}

// Have returns the capabilities this process can use: those in effect, and
// the read capabilities that WithProcAccess raises when it needs them.
func Have() (Set, error) {
	eff, prm, err := threadCaps()
	if err != nil {
		return 0, err
	}
	return usable(eff, prm), nil
}

// WithProcAccess runs fn with the read capabilities in effect (when the
// process has them in its permitted set), for reads of other users' /proc
// entries, and returns when fn has. fn runs on a thread of its own that
// ends with it, so no other code ever runs with the raised set, even if
// lowering it failed. fn must not start goroutines that need the
// capabilities, and must not open paths a user named. A panic in fn is
// raised again in the caller.
func WithProcAccess(fn func()) {
	eff, prm, err := threadCaps()
	if err != nil || prm&readCaps&^eff == 0 {
		fn() // nothing to raise: root, or no such capabilities
		return
	}
	var caught any
	panicked := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		defer func() {
			if r := recover(); r != nil {
				caught, panicked = r, true
			}
		}()
		if e, p, err := threadCaps(); err == nil {
			_ = setEffective(e | p&readCaps)
		}
		fn()
	}()
	<-done
	if panicked {
		panic(caught)
	}
}

// OpenUser opens path for reading with the rights of the user who started
// netriage: on a thread of its own whose file system UID and GID are the
// real ones and which has none of the read capabilities in effect. It
// refuses a path that is not a regular file (the error wraps ErrNotRegular)
// without blocking on it. Errors are *os.PathError values naming path.
func OpenUser(path string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the thread, with its changed credentials, ends
		// with this goroutine.
		runtime.LockOSThread()
		f, err := openAsUser(path)
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

func openAsUser(path string) (*os.File, error) {
	pathErr := func(err error) error { return &os.PathError{Op: "open", Path: path, Err: err} }
	if uid := unix.Getuid(); uid != unix.Geteuid() {
		_, _ = unix.SetfsuidRetUid(uid)
		if cur, _ := unix.SetfsuidRetUid(-1); cur != uid {
			return nil, pathErr(fmt.Errorf("cannot take the user's own rights (fsuid %d)", cur))
		}
	}
	if gid := unix.Getgid(); gid != unix.Getegid() {
		_, _ = unix.SetfsgidRetGid(gid)
		if cur, _ := unix.SetfsgidRetGid(-1); cur != gid {
			return nil, pathErr(fmt.Errorf("cannot take the user's own rights (fsgid %d)", cur))
		}
	}
	if unix.Getuid() != 0 {
		eff, _, err := threadCaps()
		if err != nil {
			return nil, pathErr(err)
		}
		if eff&readCaps != 0 {
			if err := setEffective(eff &^ readCaps); err != nil {
				return nil, pathErr(err)
			}
		}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, pathErr(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, pathErr(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, pathErr(fmt.Errorf("%w (%s)", ErrNotRegular, notRegular(modeOf(st.Mode))))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, pathErr(err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// modeOf converts a stat(2) file type to the fs.FileMode bits notRegular
// looks at.
func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}
