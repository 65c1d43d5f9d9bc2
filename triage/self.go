package triage

import "time"

// SelfSample is what netriage itself has cost the host up to a moment:
// the CPU time of all its threads since it started and its resident
// memory, now and at its peak (sources/selfcost reads it).
type SelfSample struct {
	At           time.Duration // the read's moment on the monotonic clock
	CPU          time.Duration // user + system time, every thread
	RSS, PeakRSS uint64        // bytes resident now; the most so far
}

// SelfStep is netriage's own cost at a step: the share of one CPU it
// used since the previous step (1 is a whole CPU, more than 1 is more
// than one; HasCPU is false on the first step, which has nothing to
// compare with) and its resident memory.
type SelfStep struct {
	CPU          float64
	HasCPU       bool
	RSS, PeakRSS uint64
}

// CompareSelf returns the step of cur against prev: the CPU time between
// the two reads over the time between them (their own moments, not the
// steps' ticks: a step that takes 800 ms after one of 50 ms would
// otherwise count its work over the wrong span). prev nil, a read no
// later than the one before, or a CPU time that went backwards gives no
// CPU share.
func CompareSelf(prev *SelfSample, cur SelfSample) SelfStep {
	st := SelfStep{RSS: cur.RSS, PeakRSS: max(cur.PeakRSS, cur.RSS)}
	if prev == nil || cur.At <= prev.At || cur.CPU < prev.CPU {
		return st
	}
	st.CPU, st.HasCPU = float64(cur.CPU-prev.CPU)/float64(cur.At-prev.At), true
	return st
}
