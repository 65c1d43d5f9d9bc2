package capture

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
)

// idleSeconds is how long BenchmarkIdle measures, after idleSettle.
const idleSeconds = 20

// idleSettle is how long BenchmarkIdle lets the processes start (the
// rings' mapping, the first steps) before it measures.
const idleSettle = 3 * time.Second

// idleProc is one process BenchmarkIdle watches.
type idleProc struct {
	name   string
	cmd    *exec.Cmd
	stderr *lab.LimitedBuffer
	exe    string // the executable, as its mappings name it
}

// BenchmarkIdle runs four processes side by side in a namespace of their
// own whose loopback is up and silent: a bare Go program waking on a
// one-second ticker and writing a line (testdata/idleticker, built here
// with go build), iftop (-t, a report at the end), `netriage links -i lo
// --interval 1s` and `netriage flows -i lo --interval 1s` (NDJSON
// records). Over idleSeconds, after idleSettle of start-up, it reports
// each process's CPU time per wall second (on-CPU time of all its
// threads, /proc/PID/task/*/schedstat), its wake-ups per second (the
// times its threads were put on a CPU) and its peak resident memory
// (VmHWM), the netriage processes' CPU against the ticker's (goal: at
// most 2×) and their resident memory by kind from /proc/PID/smaps (the
// rings, the binary's code, read-only data, data and zeroed data,
// anonymous memory; goal: at most 20 MB in all). It logs each thread's
// wake-ups, the garbage collections the netriage processes made in the
// measured span (they run with GODEBUG=gctrace=1) and, when strace is
// installed, a summary of their system calls over 5 s after the span.
// Needs root, NETRIAGE_INTEGRATION=1, NETRIAGE_BIN, iftop and the go
// command; b.N is ignored: one span.
func BenchmarkIdle(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	if _, err := exec.LookPath("iftop"); err != nil {
		b.Skipf("iftop not available: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skipf("the go command is needed to build the ticker: %v", err)
	}
	// The mappings name the executable by its real path.
	if bin, err = filepath.Abs(bin); err == nil {
		bin, err = filepath.EvalSymlinks(bin)
	}
	if err != nil {
		b.Fatal(err)
	}
	l := lab.New(b)
	ns := l.Netns()
	dir, err := filepath.EvalSymlinks(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ticker := filepath.Join(dir, "idleticker")
	if out, err := exec.Command(goTool, "build", "-trimpath", "-o", ticker, "./testdata/idleticker").CombinedOutput(); err != nil {
		b.Fatalf("go build ./testdata/idleticker: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	span := idleSettle + idleSeconds*time.Second + 15*time.Second // the strace summaries come after the span
	spanS := strconv.Itoa(int(span / time.Second))
	start := func(name, exe string, env []string, args ...string) idleProc {
		c := ns.Command(ctx, exe, args...)
		c.Stdout = &lab.LimitedBuffer{Max: 1 << 20}
		errOut := &lab.LimitedBuffer{Max: 1 << 20}
		c.Stderr = errOut
		if env != nil {
			c.Env = append(os.Environ(), env...)
		}
		if err := c.Start(); err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		return idleProc{name: name, cmd: c, stderr: errOut, exe: exe}
	}
	gctrace := []string{"GODEBUG=gctrace=1"}
	procs := []idleProc{
		start("ticker", ticker, nil, spanS),
		start("iftop", "iftop", nil, "-t", "-s", spanS, "-n", "-N", "-P", "-i", "lo"),
		start("links", bin, gctrace, "links", "-i", "lo", "--interval", "1s", "--duration", span.String(), "--output", "json"),
		start("flows", bin, gctrace, "flows", "-i", "lo", "--interval", "1s", "--duration", span.String(), "--output", "json"),
	}
	defer func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	}()
	time.Sleep(idleSettle)
	before := make([][]lab.Thread, len(procs))
	for i, p := range procs {
		before[i] = lab.Threads(p.cmd.Process.Pid)
	}
	t0 := time.Now()
	b.ResetTimer()
	time.Sleep(idleSeconds * time.Second)
	b.StopTimer()
	wall := time.Since(t0).Seconds()
	after := make([][]lab.Thread, len(procs))
	for i, p := range procs {
		after[i] = lab.Threads(p.cmd.Process.Pid)
		if len(after[i]) == 0 {
			b.Fatalf("%s ended during the span:\n%s", p.name, p.stderr.Bytes())
		}
	}

	cpuMs := make([]float64, len(procs))
	for i, p := range procs {
		d := lab.DiffThreads(before[i], after[i])
		var cpu time.Duration
		var runs uint64
		var lines []string
		for _, t := range d {
			cpu += t.CPU
			runs += t.Runs
			if t.Runs > 0 {
				lines = append(lines, fmt.Sprintf("thread %d: %.1f wake-ups/s (%.1f voluntary, %.1f involuntary), %.3f ms/s of CPU",
					t.TID, float64(t.Runs)/wall, float64(t.Voluntary)/wall, float64(t.Involuntary)/wall, float64(t.CPU.Nanoseconds())/1e6/wall))
			}
		}
		cpuMs[i] = float64(cpu.Nanoseconds()) / 1e6 / wall
		b.ReportMetric(cpuMs[i], p.name+"-cpu-ms/s")
		b.ReportMetric(float64(runs)/wall, p.name+"-wakeups/s")
		b.ReportMetric(float64(lab.StatusKB(p.cmd.Process.Pid, "VmHWM"))/1024, p.name+"-maxRSS-MB")
		b.Logf("%s: %.3f ms of CPU per second, %d threads; %s", p.name, cpuMs[i], len(after[i]), strings.Join(lines, "; "))
	}
	if cpuMs[0] > 0 {
		b.ReportMetric(cpuMs[2]/cpuMs[0], "links/ticker")
		b.ReportMetric(cpuMs[3]/cpuMs[0], "flows/ticker")
	}
	for _, p := range procs {
		if p.exe != bin && p.exe != ticker {
			continue
		}
		m, err := lab.ReadSmaps(p.cmd.Process.Pid, p.exe)
		if err != nil {
			b.Fatalf("%s: %v", p.name, err)
		}
		if p.exe != bin {
			b.Logf("%s resident memory: %s", p.name, m)
			continue
		}
		mb := func(kb uint64) float64 { return float64(kb) / 1024 }
		b.ReportMetric(mb(m.Rings), p.name+"-rings-MB")
		b.ReportMetric(mb(m.Text+m.Rodata+m.Data), p.name+"-binary-MB")
		b.ReportMetric(mb(m.BSS), p.name+"-bss-MB")
		b.ReportMetric(mb(m.Anon), p.name+"-anon-MB")
		gcs := gcLines(p.stderr.Bytes(), idleSettle, idleSettle+idleSeconds*time.Second)
		b.ReportMetric(float64(len(gcs)), p.name+"-GCs")
		b.Logf("%s resident memory: %s; %d garbage collections in the span: %s", p.name, m, len(gcs), strings.Join(gcs, " | "))
	}
	if _, err := exec.LookPath("strace"); err != nil {
		b.Logf("no strace: no system call summary (%v)", err)
		return
	}
	for _, p := range procs[2:] {
		b.Logf("%s: system calls per second over 5 s (strace -f -c): %s", p.name, straceSummary(ctx, p.cmd.Process.Pid, 5*time.Second))
	}
}

// gcTrace matches a gctrace line and its time since the process started.
var gcTrace = regexp.MustCompile(`(?m)^gc \d+ @([0-9.]+)s .*$`)

// gcLines returns the gctrace lines of the collections that started
// between from and to after the process did.
func gcLines(stderr []byte, from, to time.Duration) []string {
	var out []string
	for _, m := range gcTrace.FindAllSubmatch(stderr, -1) {
		at, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			continue
		}
		if d := time.Duration(at * float64(time.Second)); d >= from && d < to {
			out = append(out, string(bytes.TrimSpace(m[0])))
		}
	}
	return out
}

// straceSummary attaches strace to every thread of pid for d and returns
// the system calls it counted, most frequent first, per second of d
// (strace detaches at the interrupt and prints its table).
func straceSummary(ctx context.Context, pid int, d time.Duration) string {
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	c := exec.CommandContext(sctx, "strace", "-f", "-c", "-p", strconv.Itoa(pid))
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGINT) }
	c.WaitDelay = 5 * time.Second
	out, _ := c.CombinedOutput()
	return parseStraceCounts(out, d)
}

// parseStraceCounts turns strace -c's table (% time, seconds, usecs/call,
// calls, errors, syscall) into "name calls/s" items, most calls first.
func parseStraceCounts(out []byte, d time.Duration) string {
	type count struct {
		name  string
		calls int
	}
	var cs []count
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[len(f)-1] == "total" || f[len(f)-1] == "syscall" {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			continue
		}
		cs = append(cs, count{f[len(f)-1], n})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].calls > cs[j].calls })
	items := make([]string, len(cs))
	for i, c := range cs {
		items[i] = fmt.Sprintf("%s %.1f", c.name, float64(c.calls)/d.Seconds())
	}
	if len(items) == 0 {
		return "none counted"
	}
	return strings.Join(items, ", ")
}

func TestParseStraceCounts(t *testing.T) {
	const table = `strace: Process 1846 attached with 7 threads
strace: Process 1846 detached
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 45.01    0.005066         153        33         9 futex
 25.67    0.002889         137        21           epoll_pwait
 24.07    0.002709         270        10           nanosleep
  2.36    0.000266          13        20           getsockopt
------ ----------- ----------- --------- --------- ------------------
100.00    0.011256         105        84        9 total
`
	if got, want := parseStraceCounts([]byte(table), 10*time.Second), "futex 3.3, epoll_pwait 2.1, getsockopt 2.0, nanosleep 1.0"; got != want {
		t.Errorf("parseStraceCounts = %q, want %q", got, want)
	}
	if got := parseStraceCounts([]byte("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"), time.Second); got != "none counted" {
		t.Errorf("no table: %q", got)
	}
}

func TestGCLines(t *testing.T) {
	const trace = "{\"seq\":1}\ngc 1 @0.012s 2%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.02 ms cpu, 3->3->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n" +
		"gc 2 @5.500s 0%: 0.02+0.3+0.01 ms clock, 0.04+0/0.2/0+0.03 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n" +
		"gc 3 @30.1s 0%: 0.02+0.3+0.01 ms clock, 0.04+0/0.2/0+0.03 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"
	got := gcLines([]byte(trace), 3*time.Second, 23*time.Second)
	if len(got) != 1 || !strings.HasPrefix(got[0], "gc 2 @5.500s") {
		t.Errorf("gcLines = %q, want the second collection only", got)
	}
}
