package metrics

import (
	"net/netip"
	"testing"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// The tests run the real engine over scripted inputs, as triage/engine's
// tests do, so the snapshots (owners, verdicts, capture health) are the
// ones serve sees.

var (
	t0    = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	local = netip.MustParseAddr("198.18.0.1")
)

func remoteN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
}

func keyTo(remote netip.Addr, port uint16) flows.Key {
	return flows.Key{Proto: flows.ProtoTCP, Local: local, Remote: remote, LocalPort: port, RemotePort: 443}
}

// flowTable is a scripted flow table: cumulative counts per flow, the
// least recently seen flows evicted into Other past max, Totals = Σ Flows
// + Other.
type flowTable struct {
	max    int
	order  []flows.Key
	flows  map[flows.Key]*flows.FlowStat
	step   map[flows.Key]flows.Counts // bytes added since the last snapshot
	other  flows.Counts
	ifaces []string
	now    time.Time
}

func newFlowTable(max int) *flowTable {
	return &flowTable{max: max, flows: map[flows.Key]*flows.FlowStat{}, step: map[flows.Key]flows.Counts{}, ifaces: []string{"eth0"}}
}

// add counts sent and received bytes (one packet each way per 1500
// bytes) for the flow k, creating it (and evicting the oldest) as needed.
func (t *flowTable) add(k flows.Key, sent, recv uint64) {
	f := t.flows[k]
	if f == nil {
		if len(t.order) >= t.max {
			old := t.order[0]
			t.order = t.order[1:]
			t.other.Add(t.flows[old].Counts)
			delete(t.flows, old)
		}
		f = &flows.FlowStat{Key: k, Flows: 1, First: t.now}
		t.flows[k] = f
	} else {
		t.unlink(k)
	}
	t.order = append(t.order, k)
	c := flows.Counts{SentBytes: sent, RecvBytes: recv, SentPackets: (sent + 1499) / 1500, RecvPackets: (recv + 1499) / 1500}
	f.Add(c)
	s := t.step[k]
	s.Add(c)
	t.step[k] = s
}

// expire moves the flow k to Other, as the table's idle expiry does.
func (t *flowTable) expire(k flows.Key) {
	if f := t.flows[k]; f != nil {
		t.other.Add(f.Counts)
		delete(t.flows, k)
		t.unlink(k)
	}
}

func (t *flowTable) unlink(k flows.Key) {
	for i, o := range t.order {
		if o == k {
			t.order = append(t.order[:i:i], t.order[i+1:]...)
			return
		}
	}
}

// Snapshot implements engine.FlowSource: a flow's 10 s rate is what it
// carried in the last step (one step is a second in these tests).
func (t *flowTable) Snapshot(now time.Time) flows.Snapshot {
	s := flows.Snapshot{Time: now, Start: t0, Aggregation: flows.By5Tuple, Other: flows.FlowStat{Counts: t.other}}
	s.Totals.Counts = t.other
	for _, k := range t.order {
		f := *t.flows[k]
		st := t.step[k]
		f.Rates.R10 = flows.Rate{SentBytesPerSec: float64(st.SentBytes), RecvBytesPerSec: float64(st.RecvBytes)}
		s.Flows = append(s.Flows, f)
		s.Totals.Add(f.Counts)
	}
	clear(t.step)
	s.Capture.Bytes = s.Totals.SentBytes + s.Totals.RecvBytes
	s.Capture.Packets = s.Totals.SentPackets + s.Totals.RecvPackets
	for _, i := range t.ifaces {
		s.Capture.Interfaces = append(s.Capture.Interfaces, flows.IfaceHealth{Name: i, Packets: s.Capture.Packets})
	}
	return s
}

// fakeLinks is eth0 growing by rx and tx bytes per read on a link of
// speedBps, with a fq_codel root qdisc.
type fakeLinks struct {
	n        int
	rx, tx   uint64
	speedBps uint64
	name     string
}

func (l *fakeLinks) Read() (triage.LinksSample, error) {
	l.n++
	k := uint64(l.n)
	name := l.name
	if name == "" {
		name = "eth0"
	}
	return triage.LinksSample{Ifaces: []triage.IfaceSample{{
		Name: name, Index: 2, OperState: "up", AdminUp: true, MTU: 1500,
		Counters:        triage.IfaceCounters{RxBytes: k * l.rx, TxBytes: k * l.tx, RxPackets: k * 100, TxPackets: k * 100},
		Qdisc:           &triage.QdiscStats{Kind: "fq_codel", Bytes: k * l.tx, Packets: k * 100},
		EthtoolSpeedBps: l.speedBps,
	}}}, nil
}

// fakeSockets returns the table its function builds at each refresh.
type fakeSockets struct{ table func() *attrib.SocketTable }

func (s *fakeSockets) Refresh(time.Time) (*attrib.SocketTable, error) { return s.table(), nil }

// procs are the processes of the scripted socket tables, by PID.
type procs map[int32]*attrib.Process

// tableOf is a socket table with one connected socket per key, owned by
// owner[key]'s PID.
func tableOf(ps procs, owner map[flows.Key]int32) *attrib.SocketTable {
	tab := &attrib.SocketTable{HostNetns: 1, LocalAddrs: map[netip.Addr]uint64{local: 1}, Processes: map[attrib.ProcKey]*attrib.Process{}}
	for pid, p := range ps {
		p.Key, p.Netns = attrib.ProcKey{PID: pid}, 1
		tab.Processes[p.Key] = p
	}
	inode := uint32(100)
	for k, pid := range owner {
		inode++
		tab.Sockets = append(tab.Sockets, attrib.Socket{Proto: k.Proto, Netns: 1, Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort,
			RemotePort: k.RemotePort, State: attrib.StateEstablished, Inode: inode, Owner: attrib.ProcKey{PID: pid}})
	}
	return tab
}

// rig is an engine over scripted inputs and a Builder over its steps.
type rig struct {
	e   *engine.Engine
	b   *Builder
	at  time.Time
	ft  *flowTable
	prv *State
}

func newRig(ft *flowTable, l engine.LinksReader, sk engine.SocketReader, caps Caps, names func(netip.Addr) string, opts ...func(*engine.Config)) *rig {
	in := engine.Inputs{Flows: ft, Names: names}
	if l != nil {
		in.Links = l
	}
	if sk != nil {
		in.Sockets = sk
	}
	watched := []string{"eth0"}
	if fl, ok := l.(*fakeLinks); ok && fl.name != "" {
		watched = []string{fl.name}
	}
	cfg := engine.Config{Judge: true, Hold: true, Watched: watched, Window: 3 * time.Second, Thresholds: verdict.DefaultThresholds(),
		CaptureInterfaces: ft.ifaces, Attribution: attrib.Config{ClosedGrace: 10 * time.Second}}
	for _, o := range opts {
		o(&cfg)
	}
	return &rig{e: engine.New(in, cfg), b: NewBuilder(Options{Watched: watched, Caps: caps}), at: t0, ft: ft}
}

// tick is the next step's tick, a second after the previous one.
func (r *rig) tick() engine.Tick {
	t := engine.Tick{Time: r.at}
	r.at = r.at.Add(time.Second)
	r.ft.now = r.at
	return t
}

// step runs one engine step and folds it into the builder.
func (r *rig) step() *State { return r.b.Step(r.e.Step(r.tick())) }

// checkState fails the test unless every talker family sums to the flow
// bytes of its direction, no group has more series than the caps allow,
// and no counter went back since prev.
func checkState(t testing.TB, st, prev *State, caps Caps) {
	t.Helper()
	c := st.Capture
	if c == nil {
		t.Fatalf("step %d: no capture state", st.Seq)
	}
	for d := range 2 {
		for _, fam := range []struct {
			name string
			tk   Talkers
		}{{"process", c.Processes[d]}, {"remote", c.Remotes[d]}} {
			sum := fam.tk.Other
			for _, s := range fam.tk.Series {
				sum += s.Bytes
			}
			if sum != c.FlowBytes[d] {
				t.Fatalf("step %d %s %s: Σ series + other = %d, flow bytes %d", st.Seq, fam.name, dirNames[d], sum, c.FlowBytes[d])
			}
			if len(fam.tk.Series) > caps.KeepRank {
				t.Fatalf("step %d %s %s: %d series, cap %d", st.Seq, fam.name, dirNames[d], len(fam.tk.Series), caps.KeepRank)
			}
			if fam.tk.Retired > fam.tk.Other {
				t.Fatalf("step %d %s: retired %d above other %d", st.Seq, fam.name, fam.tk.Retired, fam.tk.Other)
			}
		}
	}
	if prev == nil || prev.Capture == nil {
		return
	}
	p := prev.Capture
	for d := range 2 {
		if c.FlowBytes[d] < p.FlowBytes[d] || c.Processes[d].Other < p.Processes[d].Other || c.Remotes[d].Other < p.Remotes[d].Other {
			t.Fatalf("step %d %s: a total or other went back", st.Seq, dirNames[d])
		}
		for _, fam := range [][2]Talkers{{p.Processes[d], c.Processes[d]}, {p.Remotes[d], c.Remotes[d]}} {
			now := map[Talker]uint64{}
			for _, s := range fam[1].Series {
				now[Talker{Process: s.Process, Container: s.Container, Remote: s.Remote}] = s.Bytes
			}
			for _, s := range fam[0].Series {
				if v, ok := now[Talker{Process: s.Process, Container: s.Container, Remote: s.Remote}]; ok && v < s.Bytes {
					t.Fatalf("step %d %s: series %+v went from %d to %d", st.Seq, dirNames[d], s, s.Bytes, v)
				}
			}
		}
	}
}

// series returns the bytes of the process (or remote) series with that
// label, and whether it exists.
func series(tk Talkers, label string) (uint64, bool) {
	for _, s := range tk.Series {
		if s.Process == label || s.Remote == label {
			return s.Bytes, true
		}
	}
	return 0, false
}
