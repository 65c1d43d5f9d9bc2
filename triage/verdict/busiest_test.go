package verdict

import (
	"testing"

	"netriage/triage/flows"
)

// series builds a file's per-second cumulative counts from per-second
// sent bytes (seconds with 0 bytes have no packets and are left out).
func series(start int64, sent ...uint64) (secs []int64, cum []flows.Counts) {
	var c flows.Counts
	for i, b := range sent {
		if b == 0 {
			continue
		}
		c.SentBytes += b
		secs = append(secs, start+int64(i))
		cum = append(cum, c)
	}
	return secs, cum
}

func TestBusiestWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sent   []uint64
		w      int64
		want   int64
		wantOK bool
	}{
		{"short file", []uint64{5, 5, 5}, 10, 0, false},
		{"burst in the middle", []uint64{1, 1, 1, 1, 1, 9, 9, 9, 1, 1, 1, 1}, 3, 105, true},
		{"first of equal windows", []uint64{4, 4, 4, 4, 4, 4}, 2, 100, true},
		{"burst at the end", []uint64{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 9, 9}, 3, 109, true},
		{"gap before the burst", []uint64{1, 0, 0, 0, 0, 0, 8, 8}, 2, 106, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secs, cum := series(100, tc.sent...)
			got, ok := BusiestWindow(secs, cum, tc.w)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("BusiestWindow = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
