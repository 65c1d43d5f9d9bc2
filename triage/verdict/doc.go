// Package verdict decides whether a link is saturated and which flows explain
// it. It is pure: it takes one observation window (interface and queue
// counter deltas, the flows seen in the window, the capture's health) and a
// Thresholds (the config converts its check section), and returns a Report. It does no I/O and reads no
// clock.
//
// # Rules
//
// Per interface and direction (see Evaluate and docs/check.md):
//
//   - saturated: utilisation ≥ crit_utilization, or queue evidence while
//     utilisation ≥ warn_utilization;
//   - congested: queue evidence (qdisc drops ≥ min_drops_per_sec, a
//     persistent backlog, or interface errors ≥ min_drops_per_sec) below the
//     warning threshold, or with capacity unknown;
//   - ok: neither (an idle interface is ok even when its capacity is unknown);
//   - unknown: capacity unknown and no queue evidence, or a window too short
//     to judge.
//
// Then the findings, in the order to look: bursty at the link itself
// (sub-second peaks at or above the critical threshold with queue drops
// while the average is below the warning one, from the burst sampler;
// critical unless configured; bursts.go), and those of the namespace's
// stack counters (FromStack): nic-drops, softirq-drops and conntrack-full
// (critical), endpoint-drops (warning); see stack.go and docs/check.md.
//
// # Explanation
//
// The explaining set is the smallest set of flows whose bytes in the
// direction reach explain_share of the bytes the capture saw in that
// direction, largest first. The same rule is applied to flows grouped by
// process and by remote host.
//
// # Coverage
//
// Coverage compares like with like: the IP bytes of the captured flows plus a
// link header per captured packet (14 bytes, 18 with a VLAN tag) against the
// interface's byte counter over the same window.
package verdict
