// Package rank picks the first few of many: the rows a report or a
// screen shows out of a flood's hundreds of thousands, without sorting
// all of them.
package rank

import (
	"cmp"
	"slices"
)

// Top returns the positions in xs of the first n elements of order's
// order, ties broken by position (so the answer is that of a stable
// sort), best first; every position, sorted, when n ≥ len(xs), and none
// when n ≤ 0. It keeps a heap of the best n seen in one pass and sorts
// only those: O(len(xs) · log n) comparisons at worst, and one against
// the heap's last for an element that does not make it, which is most
// of them.
func Top[T any](xs []T, n int, order func(a, b *T) int) []int32 {
	if n <= 0 {
		return nil
	}
	n = min(n, len(xs))
	// before: the element at position i comes first.
	before := func(i, j int32) bool {
		return cmp.Or(order(&xs[i], &xs[j]), cmp.Compare(i, j)) < 0
	}
	// A heap of the best n positions so far, the last of them on top.
	h := make([]int32, 0, n)
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && before(h[c], h[c+1]) {
				c++
			}
			if !before(h[i], h[c]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := range xs {
		p := int32(i)
		switch {
		case len(h) < n:
			h = append(h, p)
			for c := len(h) - 1; c > 0 && before(h[(c-1)/2], h[c]); c = (c - 1) / 2 {
				h[c], h[(c-1)/2] = h[(c-1)/2], h[c]
			}
		case before(p, h[0]):
			h[0] = p
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b int32) int { return cmp.Or(order(&xs[a], &xs[b]), cmp.Compare(a, b)) })
	return h
}
