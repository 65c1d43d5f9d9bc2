package engine

import (
	"testing"
	"time"
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
