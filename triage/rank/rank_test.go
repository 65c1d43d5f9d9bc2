package rank

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

type item struct{ v, id int }

func byValueDesc(a, b *item) int { return cmp.Compare(b.v, a.v) }

// stableFirst is Top's definition: a stable sort's first n positions.
func stableFirst(xs []item, n int) []int32 {
	pos := make([]int32, len(xs))
	for i := range pos {
		pos[i] = int32(i)
	}
	slices.SortStableFunc(pos, func(a, b int32) int { return byValueDesc(&xs[a], &xs[b]) })
	if n <= 0 {
		return nil
	}
	return pos[:min(n, len(pos))]
}

func TestTopIsAStableSortsPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		size := rng.IntN(120)
		spread := 1 + rng.IntN(10) // few values: many ties
		xs := make([]item, size)
		for i := range xs {
			xs[i] = item{v: rng.IntN(spread), id: i}
		}
		for _, n := range []int{-1, 0, 1, 2, rng.IntN(size + 2), size - 1, size, size + 5} {
			got, want := Top(xs, n, byValueDesc), stableFirst(xs, n)
			if len(want) == 0 {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, %d items, n=%d: got %v, want %v", round, size, n, got, want)
			}
		}
	}
}

func TestTopLeavesInputAlone(t *testing.T) {
	xs := []item{{3, 0}, {1, 1}, {2, 2}}
	before := slices.Clone(xs)
	if got := Top(xs, 2, byValueDesc); !slices.Equal(got, []int32{0, 2}) {
		t.Fatalf("got %v", got)
	}
	if !slices.Equal(xs, before) {
		t.Errorf("input changed: %v", xs)
	}
}

// BenchmarkTop50Of200k is a report's explaining set at a flood's flow
// cap: the first 50 of 200,000, every value the same (a random-source
// flood's one-packet flows), so each one is a tie the order breaks.
func BenchmarkTop50Of200k(b *testing.B) {
	xs := make([]item, 200000)
	for i := range xs {
		xs[i] = item{v: 92, id: i}
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(Top(xs, 50, byValueDesc)) != 50 {
			b.Fatal("short")
		}
	}
}
