// Package sockets reads the TCP and UDP socket tables of every network
// namespace that has processes (netlink sock_diag), finds the process that
// holds each socket (an inode → PID cache over /proc/PID/fd), and describes
// those processes (gopsutil metadata, container or systemd unit from
// /proc/PID/cgroup). It emits immutable attrib.SocketTable values.
//
// # Layout
//
// parse*.go functions are pure and tested on literal input; *_linux.go
// files do the syscalls. The /proc root is injectable (Config.ProcRoot) so
// tests run the real code on fixture trees under testdata/.
//
// # Costs
//
// One refresh dumps each namespace's sockets with its own sock_diag reader
// (parse_diag.go: tcp_info of established TCP sockets, sk_meminfo of UDP
// sockets; about 20–30 ms for 10,000 sockets, most of it in the kernel;
// tcp_info is a fifth to a third of it, so with Config.InfoInterval only
// one refresh a second asks for it and the others keep each socket's
// newest; once the engine names the sockets that need it (WantInfo), that
// refresh dumps without it and asks it of those only, by exact requests:
// 3–6 µs a socket, 0.8–1.6 ms for 256 beside 10,000 others) and resolves
// inodes from a cache kept current incrementally: new PIDs are scanned
// first, then the processes of a socket's UID, then, at most once per
// Config.FullScanInterval, every process. Process metadata is read once
// per (PID, start time). Each table lists its Changes against the one
// before (sockets new, gone or changed, by namespace and cookie), so the
// join keeps its indexes current from them instead of indexing every
// socket at every refresh.
package sockets

import (
	"errors"
	"strconv"
	"strings"
)

// parseSocketLink parses the target of a /proc/PID/fd link, "socket:[12345]",
// and returns the inode.
func parseSocketLink(b []byte) (uint32, bool) {
	const pre = "socket:["
	if len(b) < len(pre)+2 || string(b[:len(pre)]) != pre || b[len(b)-1] != ']' {
		return 0, false
	}
	var n uint64
	for _, c := range b[len(pre) : len(b)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}

// parseNsLink parses a namespace link target such as "net:[4026531840]".
func parseNsLink(s string) (uint64, error) {
	i := strings.IndexByte(s, '[')
	if i < 0 || !strings.HasSuffix(s, "]") {
		return 0, errors.New("parse namespace link: unexpected " + strconv.Quote(s))
	}
	v, err := strconv.ParseUint(s[i+1:len(s)-1], 10, 64)
	if err != nil {
		return 0, errors.New("parse namespace link: unexpected " + strconv.Quote(s))
	}
	return v, nil
}

// procStat is what we use of /proc/PID/stat.
type procStat struct {
	Comm       string
	StartTicks uint64
}

// parseStat parses /proc/PID/stat. The command name is between the first
// '(' and the last ')' (it may itself contain spaces and parentheses); the
// start time is field 22.
func parseStat(b []byte) (procStat, error) {
	s := string(b)
	open := strings.IndexByte(s, '(')
	cl := strings.LastIndexByte(s, ')')
	if open < 0 || cl < open {
		return procStat{}, errors.New("parse stat: no command name")
	}
	fields := strings.Fields(s[cl+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return procStat{}, errors.New("parse stat: too few fields")
	}
	st, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, errors.New("parse stat: bad start time " + strconv.Quote(fields[19]))
	}
	return procStat{Comm: s[open+1 : cl], StartTicks: st}, nil
}

// parseStatusUID returns the real UID from /proc/PID/status ("Uid:\tR\tE\tS\tF").
func parseStatusUID(b []byte) (uint32, error) {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			v, err := strconv.ParseUint(f[0], 10, 32)
			if err != nil {
				return 0, errors.New("parse status: bad Uid " + strconv.Quote(f[0]))
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("parse status: no Uid line")
}

// parseCmdline turns /proc/PID/cmdline (NUL-separated) into one line.
func parseCmdline(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}
