package privs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ProcFdProbe is what ProbeProcFds found.
type ProcFdProbe struct {
	// OK is true when another user's /proc/PID/fd could be listed, or when
	// no other user's process exists and netriage's own fds can be.
	OK bool
	// PID is the other user's process that was checked (0: none found).
	PID int
	// UID owns PID.
	UID uint32
	// Detail says what was checked and how it went, for a person.
	Detail string
}

// ProbeProcFds tries to list the fds of a process owned by another user
// (PID 1 is usually root's), which process attribution needs. Call it
// inside WithProcAccess, as the socket source reads them.
func ProbeProcFds() ProcFdProbe { return probeProcFds("/proc", os.Geteuid()) }

// probeProcFds is ProbeProcFds over the proc file system at root, for the
// effective UID uid.
func probeProcFds(root string, uid int) ProcFdProbe {
	ents, err := os.ReadDir(root)
	if err != nil {
		return ProcFdProbe{Detail: "cannot read " + root + ": " + err.Error()}
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(root, e.Name())
		var st unix.Stat_t
		if unix.Stat(dir, &st) != nil || int(st.Uid) == uid {
			continue
		}
		p := ProcFdProbe{PID: pid, UID: st.Uid}
		if _, err := os.ReadDir(filepath.Join(dir, "fd")); err != nil {
			p.Detail = fmt.Sprintf("cannot read %s/%d/fd (uid %d)", root, pid, st.Uid)
			return p
		}
		p.OK = true
		p.Detail = fmt.Sprintf("other users' sockets visible (checked %s/%d/fd)", root, pid)
		return p
	}
	if _, err := os.ReadDir(filepath.Join(root, "self", "fd")); err != nil {
		return ProcFdProbe{Detail: "cannot read " + root + "/self/fd"}
	}
	return ProcFdProbe{OK: true, Detail: "no other user's process found; own processes visible"}
}

// ProbePacketSocket opens and closes an AF_PACKET socket: nil when packet
// capture is allowed, else socket(2)'s errno (e.g. EPERM), for a message
// that names the operation itself.
func ProbePacketSocket() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
