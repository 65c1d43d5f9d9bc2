package engine

import (
	"fmt"
	"testing"
	"time"

	"netriage/triage"
)

func TestRecords(t *testing.T) {
	t0 := time.Unix(1000, 0)
	step := func(seq uint64, last bool) *Snapshot {
		return &Snapshot{Seq: seq, Start: t0, Time: t0.Add(time.Duration(seq-1) * time.Second), Last: last}
	}
	tests := []struct {
		name     string
		count    int
		duration time.Duration
		steps    int
		lastAt   int // the step that is Last (0: none)
		want     []uint64
	}{
		{"count", 2, 0, 5, 0, []uint64{2, 3}},
		{"duration", 0, 3 * time.Second, 6, 0, []uint64{2, 3, 4}},
		{"unbounded until last", 0, 0, 4, 4, []uint64{2, 3, 4}},
		{"a file read in one step", 0, 0, 1, 1, []uint64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint64
			emit := Records(tc.count, tc.duration, func(s *Snapshot) bool { got = append(got, s.Seq); return true })
			for i := 1; i <= tc.steps; i++ {
				if !emit(step(uint64(i), i == tc.lastAt)) {
					break
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("records at %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("records at %v, want %v", got, tc.want)
				}
			}
		})
	}
	stop := Records(0, 0, func(*Snapshot) bool { return false })
	if stop(step(2, false)) {
		t.Error("a failed write must stop the run")
	}
}

// linkStep is a scripted step of a links run.
type linkStep struct {
	read   bool   // the read succeeded
	why    string // the links input's reason when degraded
	ifaces []string
	last   bool
}

// TestLinkRecords: the first sample is the baseline, failed reads write
// nothing and are reported once per reason, a sample after the run's end
// is written only when it is the first record (then Short, with the time
// since the start), and the run ends at the count, when nothing is left,
// or when a write fails.
func TestLinkRecords(t *testing.T) {
	t0 := time.Unix(1000, 0)
	eth := []string{"eth0"}
	tests := []struct {
		name       string
		count      int
		names      []string
		writeFails int // the record whose write fails (0: none)
		steps      []linkStep
		wantSeqs   []uint64
		wantFailed []string
		wantShort  bool
		wantStop   int // the step (from 1) whose emit returned false (0: none)
	}{
		{"baseline then records", 0, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth}, {read: true, ifaces: eth}},
			[]uint64{2, 3}, nil, false, 0},
		{"count", 2, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth}, {read: true, ifaces: eth}, {read: true, ifaces: eth}},
			[]uint64{2, 3}, nil, false, 3},
		{"failed reads reported once per reason", 0, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {why: "interface counters: EBUSY"}, {why: "interface counters: EBUSY"},
				{why: "interface counters: ENOBUFS"}, {read: true, ifaces: eth}},
			[]uint64{5}, []string{"interface counters: EBUSY", "interface counters: ENOBUFS"}, false, 0},
		{"a failed last read ends the run", 0, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth}, {why: "gone", last: true}},
			[]uint64{2}, []string{"gone"}, false, 3},
		{"a sample after the end is not written", 0, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth}, {read: true, ifaces: eth, last: true}},
			[]uint64{2}, nil, false, 3},
		{"a run shorter than one interval", 0, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth, last: true}},
			[]uint64{2}, nil, true, 0},
		{"nothing left", 0, eth, 0,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth}, {read: true}, {read: true, ifaces: eth}},
			[]uint64{2, 3}, nil, false, 3},
		{"one of two left", 0, []string{"eth0", "eth1"}, 0,
			[]linkStep{{read: true, ifaces: []string{"eth0", "eth1"}}, {read: true, ifaces: eth}, {read: true, ifaces: eth}},
			[]uint64{2, 3}, nil, false, 0},
		{"a failed write", 0, eth, 1,
			[]linkStep{{read: true, ifaces: eth}, {read: true, ifaces: eth}, {read: true, ifaces: eth}},
			[]uint64{2}, nil, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seqs []uint64
			var failed []string
			short := false
			emit := LinkRecords(tc.count, triage.NewLinkTracker(tc.names, nil), func(why string) { failed = append(failed, why) },
				func(r *LinkRecord) bool {
					seqs = append(seqs, r.Sample.Seq)
					if r.Short {
						short = true
						if want := r.Sample.Time.Sub(t0); r.Elapsed != want {
							t.Errorf("elapsed %v, want %v", r.Elapsed, want)
						}
					}
					if len(r.Rows) != len(tc.names) || r.GoneSince == nil {
						t.Errorf("record %d: %d rows, gone since %v", r.Sample.Seq, len(r.Rows), r.GoneSince)
					}
					return len(seqs) != tc.writeFails
				})
			stop := 0
			var prev *triage.LinksSample
			for i, st := range tc.steps {
				seq := uint64(i + 1)
				s := &Snapshot{Seq: seq, Start: t0, Time: t0.Add(time.Duration(i) * 250 * time.Millisecond), Last: st.last, Links: prev}
				if st.read {
					cur := triage.LinksSample{Time: s.Time}
					for j, n := range st.ifaces {
						cur.Ifaces = append(cur.Ifaces, triage.IfaceSample{Name: n, Index: j + 1, OperState: "up",
							Counters: triage.IfaceCounters{RxBytes: seq * 1000}})
					}
					s.Links, s.LinksRead, prev = &cur, true, &cur
					s.Health = []Health{{Input: "links", State: StateOK}}
				} else {
					s.Health = []Health{{Input: "links", State: StateDegraded, Why: st.why}}
				}
				if !emit(s) {
					stop = i + 1
					break
				}
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.wantSeqs) {
				t.Errorf("records at %v, want %v", seqs, tc.wantSeqs)
			}
			if fmt.Sprint(failed) != fmt.Sprint(tc.wantFailed) {
				t.Errorf("failed reads %q, want %q", failed, tc.wantFailed)
			}
			if short != tc.wantShort || stop != tc.wantStop {
				t.Errorf("short %v, stopped at step %d; want %v, %d", short, stop, tc.wantShort, tc.wantStop)
			}
		})
	}
}
