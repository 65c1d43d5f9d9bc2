package engine

import (
	"time"

	"netriage/triage"
)

// Records is the emit function of a subcommand that writes a record per
// step: the first step is the start (no record) unless it is also the last
// (a file read in one step); the run ends after count records (0: no
// bound), once duration has passed since the start (0: none), or when
// write returns false.
func Records(count int, duration time.Duration, write func(*Snapshot) bool) func(*Snapshot) bool {
	n := 0
	return func(s *Snapshot) bool {
		if s.Seq == 1 && !s.Last {
			return true
		}
		n++
		if !write(s) {
			return false
		}
		return !(count > 0 && n >= count) && !(duration > 0 && s.Time.Sub(s.Start) >= duration)
	}
}

// LinkRecord is one record of a subcommand that writes the interfaces'
// rows per link sample (links): the sample, stamped with its step's Seq,
// and what the tracker made of it.
type LinkRecord struct {
	Sample triage.LinksSample
	triage.LinkStep
	// GoneSince maps each removed interface to the time of the first
	// sample it was missing from (the tracker's map: read it before the
	// next record).
	GoneSince map[string]time.Time
	// Short is set when the run ended before its first interval did (e.g.
	// --duration 500ms with a 1 s interval): the record is the one sample
	// there is, with rates over Elapsed, the time since the start.
	Short   bool
	Elapsed time.Duration
}

// LinkRecords is the emit function of a subcommand that writes a record
// per link sample. The first sample is track's baseline (rates need two).
// A step whose read failed writes nothing (the next step reads again);
// failed is told why, once per new reason. The last step, a sample after
// the run's end, is written only when no record came before it. The run
// ends after count records (0: no bound), when nothing is left to sample
// (LinkStep.Left), or when write returns false.
func LinkRecords(count int, track *triage.LinkTracker, failed func(why string), write func(*LinkRecord) bool) func(*Snapshot) bool {
	emitted := 0
	var lastWhy string
	return func(s *Snapshot) bool {
		if why := s.Why("links"); !s.LinksRead && why != "" && why != lastWhy {
			lastWhy = why
			failed(why)
		}
		if !s.LinksRead {
			return !s.Last
		}
		r := LinkRecord{Sample: *s.Links}
		r.Sample.Seq = s.Seq
		if s.Seq == 1 {
			track.Baseline(r.Sample) // rates need two samples
			return true
		}
		if s.Last {
			if emitted > 0 {
				return false // a sample after the run's end is not written
			}
			// The run ended before the first interval did: the one sample
			// there is, with rates over the time elapsed.
			r.Short, r.Elapsed = true, r.Sample.Time.Sub(s.Start).Round(time.Millisecond)
		}
		r.LinkStep = track.Next(r.Sample)
		r.GoneSince = track.GoneSince()
		if !write(&r) {
			return false
		}
		emitted++
		return r.Left && (count == 0 || emitted < count)
	}
}
