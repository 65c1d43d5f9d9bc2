package triage

import "time"

// SelfSample is what netriage itself has cost the host up to a moment:
// the CPU time of all its threads since it started and its resident
// memory, now and at its peak (sources/selfcost reads it).
type SelfSample struct {
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

// CompareSelf returns the step of cur against prev, elapsed apart (the
// steps' times); prev nil, a step no later than the one before, or a CPU
// time that went backwards gives no CPU share.
func CompareSelf(prev *SelfSample, cur SelfSample, elapsed time.Duration) SelfStep {
	st := SelfStep{RSS: cur.RSS, PeakRSS: max(cur.PeakRSS, cur.RSS)}
	if prev == nil || elapsed <= 0 || cur.CPU < prev.CPU {
		return st
	}
	st.CPU, st.HasCPU = float64(cur.CPU-prev.CPU)/float64(elapsed), true
	return st
}
