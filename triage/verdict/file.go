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
