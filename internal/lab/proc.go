package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Thread is one thread's scheduler counters (/proc/PID/task/TID/schedstat
// and status).
type Thread struct {
	TID int
	// CPU is the time the thread spent on a CPU.
	CPU time.Duration
	// Runs is the number of times the thread was put on a CPU (the third
	// field of schedstat): each wake-up of a sleeping thread is one, and
	// so is each return after preemption.
	Runs uint64
	// Voluntary and Involuntary are its context switches (a voluntary one
	// is a sleep: a futex, epoll_wait, nanosleep...).
	Voluntary, Involuntary uint64
}

// Threads returns the counters of a process's current threads, in TID
// order; nil when the process is gone.
func Threads(pid int) []Thread {
	dirs, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*"))
	var out []Thread
	for _, d := range dirs {
		tid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		ss, err := os.ReadFile(filepath.Join(d, "schedstat"))
		if err != nil {
			continue
		}
		th := Thread{TID: tid}
		if f := strings.Fields(string(ss)); len(f) >= 3 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			th.CPU = time.Duration(ns)
			th.Runs, _ = strconv.ParseUint(f[2], 10, 64)
		}
		if st, err := os.ReadFile(filepath.Join(d, "status")); err == nil {
			th.Voluntary = statusField(string(st), "voluntary_ctxt_switches")
			th.Involuntary = statusField(string(st), "nonvoluntary_ctxt_switches")
		}
		out = append(out, th)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TID < out[j].TID })
	return out
}

func statusField(st, name string) uint64 {
	for _, line := range strings.Split(st, "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	return 0
}

// ThreadDelta is what one thread did between two Threads readings.
type ThreadDelta struct {
	TID                    int
	CPU                    time.Duration
	Runs                   uint64
	Voluntary, Involuntary uint64
}

// DiffThreads returns, for every thread of after, what it did since
// before (a thread born in between counts from zero), busiest first (most
// runs, then most CPU).
func DiffThreads(before, after []Thread) []ThreadDelta {
	prev := make(map[int]Thread, len(before))
	for _, t := range before {
		prev[t.TID] = t
	}
	out := make([]ThreadDelta, 0, len(after))
	for _, t := range after {
		p := prev[t.TID]
		out = append(out, ThreadDelta{TID: t.TID, CPU: t.CPU - p.CPU, Runs: t.Runs - p.Runs,
			Voluntary: t.Voluntary - p.Voluntary, Involuntary: t.Involuntary - p.Involuntary})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Runs != out[j].Runs {
			return out[i].Runs > out[j].Runs
		}
		return out[i].CPU > out[j].CPU
	})
	return out
}

// MemBreakdown is a process's resident memory (Rss of /proc/PID/smaps) by
// kind, in KiB.
type MemBreakdown struct {
	// Rings are the mappings of packet sockets' rings ("socket:[inode]"),
	// with their count.
	Rings    uint64
	RingMaps int
	// Text, Rodata and Data are the executable's own mappings: code
	// (r-xp), read-only data (r--p: constants, the Go runtime's tables)
	// and initialised data (rw-p).
	Text, Rodata, Data uint64
	// BSS is the anonymous mapping right after the executable's data
	// (zero-initialised globals).
	BSS uint64
	// Anon is every other anonymous mapping (the Go heap, stacks,
	// the C allocator's arenas), [heap] and [stack] included.
	Anon uint64
	// Libs are the other file-backed mappings (shared libraries).
	Libs uint64
	// Other is what is left ([vdso], [vvar]...).
	Other uint64
	// Total is the sum of every mapping's Rss (VmRSS, to the page).
	Total uint64
	// AnonTotal is the sum of every mapping's Anonymous field (the
	// process's own pages: BSS, heap and the written part of Data).
	AnonTotal uint64
}

// String is the breakdown in MB, in one line.
func (m MemBreakdown) String() string {
	mb := func(kb uint64) string { return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64) }
	return fmt.Sprintf("total %s MB: rings %s (%d), text %s, rodata %s, data %s, bss %s, anonymous %s, libraries %s, other %s (anonymous pages in all: %s)",
		mb(m.Total), mb(m.Rings), m.RingMaps, mb(m.Text), mb(m.Rodata), mb(m.Data), mb(m.BSS), mb(m.Anon), mb(m.Libs), mb(m.Other), mb(m.AnonTotal))
}

// ReadSmaps returns the breakdown of process pid's memory; exe is the
// path of its executable as the mappings name it.
func ReadSmaps(pid int, exe string) (MemBreakdown, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps"))
	if err != nil {
		return MemBreakdown{}, err
	}
	defer f.Close()
	return ParseSmaps(f, exe)
}

// ParseSmaps reads an smaps file (a header line per mapping, then its
// "Field: N kB" lines) into a breakdown; exe is the executable's path.
func ParseSmaps(r io.Reader, exe string) (MemBreakdown, error) {
	var m MemBreakdown
	type mapping struct {
		start, end uint64
		perm, name string
		rss, anon  uint64
	}
	var maps []mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.HasSuffix(f[0], ":") { // a field of the current mapping
			if len(maps) == 0 || len(f) < 2 {
				continue
			}
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "Rss:":
				maps[len(maps)-1].rss = n
			case "Anonymous:":
				maps[len(maps)-1].anon = n
			}
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok || len(f) < 5 {
			return m, fmt.Errorf("smaps: unexpected line %q", line)
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			return m, fmt.Errorf("smaps: bad address range in %q", line)
		}
		mp := mapping{start: start, end: end, perm: f[1]}
		if len(f) >= 6 {
			mp.name = strings.Join(f[5:], " ")
		}
		maps = append(maps, mp)
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	exeEnd := uint64(0)
	for _, mp := range maps {
		if mp.name == exe && mp.end > exeEnd {
			exeEnd = mp.end
		}
	}
	for _, mp := range maps {
		m.Total += mp.rss
		m.AnonTotal += mp.anon
		switch {
		case strings.HasPrefix(mp.name, "socket:["):
			m.Rings += mp.rss
			m.RingMaps++
		case mp.name == exe && strings.HasPrefix(mp.perm, "r-x"):
			m.Text += mp.rss
		case mp.name == exe && strings.HasPrefix(mp.perm, "rw"):
			m.Data += mp.rss
		case mp.name == exe:
			m.Rodata += mp.rss
		case mp.name == "" && exeEnd != 0 && mp.start == exeEnd:
			m.BSS += mp.rss
		case mp.name == "" || mp.name == "[heap]" || strings.HasPrefix(mp.name, "[stack"):
			m.Anon += mp.rss
		case strings.HasPrefix(mp.name, "/"):
			m.Libs += mp.rss
		default:
			m.Other += mp.rss
		}
	}
	return m, nil
}

// StatusKB returns a memory field of /proc/PID/status (VmRSS, VmHWM) in
// KiB; 0 if the process is gone.
func StatusKB(pid int, field string) uint64 {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
