// Package metrics turns the engine's snapshots into Prometheus metrics for
// `netriage serve`. It is pure: a Builder, owned by the engine's emit
// function, folds each snapshot into a bounded State, and a Collector
// renders the newest State when Prometheus scrapes. docs/metrics.md
// documents every family.
//
// # Cost of a scrape
//
// All the work that depends on the traffic (per-flow increases, ranking
// the talkers) happens in Builder.Step, once per engine step. A scrape
// only walks the newest State, whose size depends on the watched
// interfaces, the capture's handles and the Caps.
//
// # Counters
//
// Every counter only grows during a run. Link and qdisc counters start at
// the kernel's value and add its increases (triage.Step, Step32 for the
// qdisc's 32-bit counters), so a re-created interface, a replaced qdisc
// or a wrapped counter never makes one go back. Seconds of saturation and
// congestion are added at every step from the engine's verdict, so a
// saturation shorter than the scrape interval is counted.
//
// # Talkers
//
// The process and remote families are a sticky top-k per direction: a
// talker gets a series when it ranks Caps.TopK or better by its flows'
// 10 s rate (and carries at least Caps.MinShare of the direction), and
// keeps it while it ranks Caps.KeepRank or better and is not idle for
// Caps.Idle. Each step's bytes go to the talker's series or to the other
// bucket; the rest of the capture's increase (flows that left the table
// between two steps, flows without a process) goes to other too, and a
// retired series hands its bytes to other. So, at every scrape and for
// every direction, the family sums exactly to netriage_flow_bytes_total,
// and no group ever has more than KeepRank series plus other.
//
// Bytes are IP bytes as the flow table counts them. Direction is the
// interface's: tx is what the host sent. A flow counts once, for its
// owner (host-local traffic is not mirrored to the peer process here, so
// the sums hold).
//
// # Labels
//
// Label values are untrusted text (interface, program, container and DNS
// names): they are cut to a bounded length and their control characters
// replaced (views/format.Sanitize) before the client library escapes them.
// Two interfaces whose names clean to the same text get distinct values
// (a "~2" suffix); a program named like a reserved value ("other",
// "unattributed:…") is labelled "process:NAME".
package metrics
