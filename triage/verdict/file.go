package verdict

import (
	"time"

	"netriage/triage/flows"
)

// ReplayLink is the name of a capture file's one link when --link-speed
// gives it none; the advice for it is the file form ("--link-speed
// RATE").
const ReplayLink = "replay"

// FileWindow is the window of a capture file over [start, end]: one link,
// name ("" is ReplayLink) with capacity bps in both directions (0:
// unknown), captured, with no interface counters (rates come from the
// flows, coverage is n/a). capt is the replay's health; it is made active,
// and its interfaces are the link when it names none.
func FileWindow(file string, start, end time.Time, fl []Flow, capt Capture, name string, bps uint64) Window {
	if name == "" {
		name = ReplayLink
	}
	src := SourceUnknown
	if bps > 0 {
		src = SourceUser
	}
	ifc := Interface{
		Name: name, Captured: true,
		RX: DirCounters{CapacityBps: bps, CapacitySource: src},
		TX: DirCounters{CapacityBps: bps, CapacitySource: src},
	}
	capt.Active = true
	if len(capt.Interfaces) == 0 {
		capt.Interfaces = []string{name}
	}
	return Window{Start: start, End: end, Counters: false, Replay: file, Interfaces: []Interface{ifc}, Flows: fl, Capture: capt}
}

// FileCheck is what replay --check judges: the final snapshot of a
// capture file (or of the window of it that was read), the capture's
// scope and the file's one link.
type FileCheck struct {
	File string
	Snap *flows.Snapshot
	// From and To are the busiest window that was read (zero: the whole
	// file, Snap's Start to Time).
	From, To time.Time
	// Filter and LocalNet are -f and -F, reported with the capture.
	Filter, LocalNet string
	// Link and Bps are what --link-speed gives: the link's name ("":
	// ReplayLink) and its capacity in bits per second (0: unknown).
	Link string
	Bps  uint64
}

// Window is the verdict's window of c: FileWindow over the snapshot's
// flows (FileFlows) and capture counts, from From to To when a window was
// picked, else over the snapshot's span.
func (c FileCheck) Window() Window {
	s := c.Snap
	capt := Capture{Packets: s.Capture.Packets, NonIP: s.Capture.NonIP, Truncated: s.Capture.Truncated, Filter: c.Filter, LocalNet: c.LocalNet}
	start, end := s.Start, s.Time
	if !c.From.IsZero() {
		start, end = c.From, c.To
	}
	return FileWindow(c.File, start, end, FileFlows(s), capt, c.Link, c.Bps)
}

// FileFlows are the flows of a capture file's final snapshot for the
// verdict: cumulative bytes and packets, no owners (a file has no
// processes).
func FileFlows(s *flows.Snapshot) []Flow {
	out := make([]Flow, 0, len(s.Flows))
	for i := range s.Flows {
		f := &s.Flows[i]
		out = append(out, Flow{Key: f.Key, SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, SentPackets: f.SentPackets, RecvPackets: f.RecvPackets})
	}
	return out
}

// BusiestWindow finds the w seconds of a capture file that a verdict over
// the whole file would average away: secs are the file's seconds with
// packets, in order, and cum the cumulative byte counts at the end of
// each. It returns the start (Unix second) of the window [start,
// start+w) whose busier direction carries the most bytes, the first such
// window on a tie; ok is false when the file spans w seconds or fewer
// (the whole file is the window).
func BusiestWindow(secs []int64, cum []flows.Counts, w int64) (start int64, ok bool) {
	if len(secs) == 0 || w <= 0 || secs[len(secs)-1]-secs[0] < w {
		return 0, false
	}
	best, bestStart := uint64(0), secs[0]
	j := 0 // the last second inside the window starting at secs[i]
	for i := range secs {
		if secs[i]+w > secs[len(secs)-1]+1 {
			// A window starting later would run past the file's end: the
			// one that ends there covers the same seconds and more.
			break
		}
		for j+1 < len(secs) && secs[j+1] < secs[i]+w {
			j++
		}
		var base flows.Counts
		if i > 0 {
			base = cum[i-1]
		}
		sent, recv := cum[j].SentBytes-base.SentBytes, cum[j].RecvBytes-base.RecvBytes
		if m := max(sent, recv); m > best {
			best, bestStart = m, secs[i]
		}
	}
	// The window ending at the file's last second may hold more than any
	// that starts on a second with packets.
	end := secs[len(secs)-1] + 1
	i := 0
	for i < len(secs) && secs[i] < end-w {
		i++
	}
	var base flows.Counts
	if i > 0 {
		base = cum[i-1]
	}
	last := cum[len(cum)-1]
	if m := max(last.SentBytes-base.SentBytes, last.RecvBytes-base.RecvBytes); m > best {
		bestStart = end - w
	}
	return bestStart, true
}
