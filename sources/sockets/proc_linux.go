package sockets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// procFS reads the parts of a /proc tree the cache needs. root is "/proc"
// in production and a fixture tree in tests.
type procFS struct {
	root string
	buf  []byte
}

func newProcFS(root string) *procFS { return &procFS{root: root, buf: make([]byte, 128)} }

func (p *procFS) pidDir(pid int32) string { return p.root + "/" + strconv.Itoa(int(pid)) }

// readPIDs lists the numeric entries of the /proc root.
func (p *procFS) readPIDs(dst []int32) ([]int32, error) {
	f, err := os.Open(p.root)
	if err != nil {
		return dst, fmt.Errorf("list processes: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return dst, fmt.Errorf("list processes: %w", err)
	}
	for _, n := range names {
		if n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		v, err := strconv.ParseInt(n, 10, 32)
		if err == nil && v > 0 {
			dst = append(dst, int32(v))
		}
	}
	return dst, nil
}

// readSocketInodes appends the socket inodes among pid's file descriptors.
// A permission error is returned as errUnreadable.
func (p *procFS) readSocketInodes(pid int32, dst []uint32) ([]uint32, error) {
	dir := p.pidDir(pid) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return dst, errUnreadable
		}
		return dst, fmt.Errorf("read fds of %d: %w", pid, err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return dst, fmt.Errorf("read fds of %d: %w", pid, err)
	}
	path := make([]byte, 0, len(dir)+12)
	path = append(path, dir...)
	path = append(path, '/')
	base := len(path)
	for _, n := range names {
		path = append(path[:base], n...)
		k, err := unix.Readlink(string(path), p.buf)
		if err != nil || k <= 0 {
			continue // closed meanwhile
		}
		if ino, ok := parseSocketLink(p.buf[:k]); ok {
			dst = append(dst, ino)
		}
	}
	return dst, nil
}

// readStat reads /proc/PID/stat.
func (p *procFS) readStat(pid int32) (procStat, error) {
	b, err := os.ReadFile(p.pidDir(pid) + "/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseStat(b)
}

// readUID returns the owner of /proc/PID (the process's effective UID as
// the kernel shows it); fixture trees may use a status file instead.
func (p *procFS) readUID(pid int32) (uint32, error) {
	if b, err := os.ReadFile(p.pidDir(pid) + "/status"); err == nil {
		return parseStatusUID(b)
	}
	fi, err := os.Stat(p.pidDir(pid))
	if err != nil {
		return 0, fmt.Errorf("read uid of %d: %w", pid, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid, nil
	}
	return 0, fmt.Errorf("read uid of %d: no stat", pid)
}

// readNetns returns the network namespace inode of pid.
func (p *procFS) readNetns(pid int32) (uint64, error) {
	return p.readNsPath(p.pidDir(pid) + "/ns/net")
}

func (p *procFS) readNsPath(path string) (uint64, error) {
	s, err := os.Readlink(path)
	if err != nil {
		// Fixture trees store the link target in a plain file.
		b, ferr := os.ReadFile(path)
		if ferr != nil {
			return 0, fmt.Errorf("read netns: %w", err)
		}
		s = string(b)
	}
	return parseNsLink(s)
}

// readFile reads a small file of pid, e.g. "cgroup" or "cmdline".
func (p *procFS) readFile(pid int32, name string) ([]byte, error) {
	return os.ReadFile(p.pidDir(pid) + "/" + name)
}
