// Package privs keeps netriage's read-any-file capabilities out of effect
// except around the /proc reads that need them, and opens the paths a user
// names with that user's own rights.
//
// # Why
//
// netriage may run with file capabilities (setcap) so that an unprivileged
// on-call engineer can see other users' sockets: CAP_SYS_PTRACE and
// CAP_DAC_READ_SEARCH let it read any /proc/PID/fd, and would let it read
// any file at all. A path the user names (a config file, a capture file)
// must therefore never be opened with them.
//
// # How
//
// Capabilities are per thread on Linux. A C constructor runs before the Go
// runtime starts its first thread; when the real UID is not root it clears
// CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE from the effective
// set, so every thread the runtime creates inherits the lowered set. They stay
// in the permitted set:
//   - [WithProcAccess] runs the /proc reads on a thread of its own with them
//     raised; the thread ends with the reads, so nothing else ever runs
//     with the raised set;
//   - [OpenUser] opens a user-named path on a thread of its own whose file
//     system UID and GID are the real ones and whose effective set holds none
//     of them; the thread ends with the open. It refuses what is not a
//     regular file (a FIFO would block forever, a device is no capture).
//
// Running as root (sudo) changes nothing: root's own rights are the user's.
//
// # Capability checks
//
// Decide by [Have], never by the effective UID: with setcap the EUID is the
// user's and the capabilities are there all the same.
package privs
