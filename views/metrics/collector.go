package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"netriage/triage/verdict"
)

// Label names shared by the families.
const (
	lInterface = "interface"
	lDirection = "direction"
)

var dirNames = [2]string{verdict.RX.String(), verdict.TX.String()}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The families. docs/metrics.md documents each with its type, labels and
// an example query; TestDocumented keeps the two in step.
var (
	dSteps    = desc("netriage_engine_steps_total", "Steps the engine has taken since start.")
	dLastStep = desc("netriage_engine_last_step_timestamp_seconds", "Time of the engine's newest step, in seconds since the epoch.")
	dInput    = desc("netriage_input_state", "Condition of each input: 1 for its current state (ok, degraded or absent), 0 for the others.", "input", "state")

	dLinkUp       = desc("netriage_link_up", "1 when the interface is administratively and operationally up (or unknown, like lo).", lInterface)
	dLinkBytes    = desc("netriage_link_bytes_total", "Link-layer bytes the interface counted (netlink), monotonic over the run.", lInterface, lDirection)
	dLinkPackets  = desc("netriage_link_packets_total", "Packets the interface counted.", lInterface, lDirection)
	dLinkErrors   = desc("netriage_link_errors_total", "Errors the interface counted.", lInterface, lDirection)
	dLinkDrops    = desc("netriage_link_drops_total", "Packets the interface dropped (its own counter, not the qdisc's).", lInterface, lDirection)
	dLinkCapacity = desc("netriage_link_capacity_bytes_per_second", "Capacity of the direction in bytes per second, with where it came from; absent when unknown.", lInterface, lDirection, "source")
	dLinkUtil     = desc("netriage_link_utilization_ratio", "Rate over the last step divided by the capacity (1 = full); absent when the capacity is unknown.", lInterface, lDirection)

	dQdiscInfo       = desc("netriage_qdisc_info", "The interface's root qdisc kind (value 1).", lInterface, "kind")
	dQdiscBytes      = desc("netriage_qdisc_bytes_total", "Bytes the root qdisc sent.", lInterface)
	dQdiscPackets    = desc("netriage_qdisc_packets_total", "Packets the root qdisc sent.", lInterface)
	dQdiscDrops      = desc("netriage_qdisc_drops_total", "Packets the root qdisc dropped.", lInterface)
	dQdiscOverlimits = desc("netriage_qdisc_overlimits_total", "Times the root qdisc held packets back (shaper over its rate).", lInterface)
	dQdiscRequeues   = desc("netriage_qdisc_requeues_total", "Packets the root qdisc requeued.", lInterface)
	dQdiscBacklogB   = desc("netriage_qdisc_backlog_bytes", "Bytes queued in the root qdisc at the step.", lInterface)
	dQdiscBacklogP   = desc("netriage_qdisc_backlog_packets", "Packets queued in the root qdisc at the step.", lInterface)

	dVerdict    = desc("netriage_verdict_state", "The saturation verdict: 1 for the current state (ok, congested, saturated, unknown, removed), 0 for the others.", lInterface, lDirection, "state")
	dCoverage   = desc("netriage_verdict_coverage_ratio", "Share of the interface's bytes in the verdict's window that the captured flows account for; absent when not applicable.", lInterface, lDirection)
	dVerdUtil   = desc("netriage_verdict_utilization_ratio", "Utilisation over the verdict's window; absent when the capacity is unknown.", lInterface, lDirection)
	dWindow     = desc("netriage_verdict_window_seconds", "Length of the window the newest verdict judged.")
	dSaturated  = desc("netriage_link_saturated_seconds_total", "Seconds during which the verdict said saturated, counted at every engine step whatever the scrape interval.", lInterface, lDirection)
	dCongested  = desc("netriage_link_congested_seconds_total", "Seconds during which the verdict said congested, counted at every engine step.", lInterface, lDirection)
	verdictList = []verdict.Verdict{verdict.OK, verdict.Congested, verdict.Saturated, verdict.Unknown, verdict.Removed}

	dCapPackets   = desc("netriage_capture_packets_total", "Frames the capture received on the interface.", lInterface)
	dCapDrops     = desc("netriage_capture_kernel_drops_total", "Frames the kernel could not queue to the capture (PACKET_STATISTICS).", lInterface)
	dCapEvicted   = desc("netriage_capture_evicted_flows_total", "Flows evicted from the full flow table (their bytes stay counted, in other).", lInterface)
	dCapExpired   = desc("netriage_capture_expired_flows_total", "Flows expired from the flow table after being idle.", lInterface)
	dCapNonIP     = desc("netriage_capture_non_ip_packets_total", "Captured frames that are not IPv4 or IPv6 (ARP, LLDP...): in no flow.", lInterface)
	dCapTruncated = desc("netriage_capture_truncated_packets_total", "Captured IP packets whose headers were cut or malformed: in no flow.", lInterface)
	dCapFlows     = desc("netriage_capture_flows", "Flows in the flow table at the step.", lInterface)
	dFlowBytes    = desc("netriage_flow_bytes_total", "IP bytes of every captured flow (tx: sent by the host); each talker family sums to it.", lInterface, lDirection)
	dFlowPackets  = desc("netriage_flow_packets_total", "IP packets of every captured flow.", lInterface, lDirection)
	dUnattributed = desc("netriage_unattributed_bytes_total", "IP bytes of flows without an owning process, by reason (forwarded, closed, other_protocol, unknown).", lInterface, lDirection, "reason")

	dProcess    = desc("netriage_process_bytes_total", "IP bytes by process (program and container) for the top talkers; process=\"other\" holds the rest, so the family sums to netriage_flow_bytes_total.", lInterface, lDirection, "process", "container")
	dRemote     = desc("netriage_remote_bytes_total", "IP bytes by remote address for the top talkers; remote=\"other\" holds the rest, so the family sums to netriage_flow_bytes_total.", lInterface, lDirection, "remote")
	dRetired    = desc("netriage_talker_retired_bytes_total", "The part of a family's other bucket that came from series retired when their talker left the top (a step in other that is not traffic).", lInterface, lDirection, "by")
	dRemoteInfo = desc("netriage_remote_info", "The name (passive or reverse DNS) of a remote address that has a series (value 1).", "remote", "name")

	dEgressBytes = desc("netriage_egress_bytes_total", "IP bytes exchanged with remotes of each destination class (docs/egress.md); the classes sum to every captured flow's bytes.", "class", lDirection)
	dEgressCost  = desc("netriage_egress_cost_total", "Cost so far of the class's priced bytes (egress.prices), in the currency of the label; absent for a class without a price.", "class", "currency")

	allDescs = []*prometheus.Desc{dEgressBytes, dEgressCost, dSteps, dLastStep, dInput,
		dLinkUp, dLinkBytes, dLinkPackets, dLinkErrors, dLinkDrops, dLinkCapacity, dLinkUtil,
		dQdiscInfo, dQdiscBytes, dQdiscPackets, dQdiscDrops, dQdiscOverlimits, dQdiscRequeues, dQdiscBacklogB, dQdiscBacklogP,
		dVerdict, dCoverage, dVerdUtil, dWindow, dSaturated, dCongested,
		dCapPackets, dCapDrops, dCapEvicted, dCapExpired, dCapNonIP, dCapTruncated, dCapFlows, dFlowBytes, dFlowPackets, dUnattributed,
		dProcess, dRemote, dRetired, dRemoteInfo}
)

// Collector renders the newest State at scrape time. Publish hands it a
// State per engine step; Collect reads whichever is newest, so a scrape
// costs the State's bounded series count and never waits for the engine.
type Collector struct {
	latest atomic.Pointer[State]
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector with no State yet (it exports nothing
// until the first Publish).
func NewCollector() *Collector { return &Collector{} }

// Publish makes s the State scrapes render. s must not be modified after.
func (c *Collector) Publish(s *State) { c.latest.Store(s) }

// Latest returns the newest State, nil before the first.
func (c *Collector) Latest() *State { return c.latest.Load() }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.latest.Load()
	if s == nil {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter(dSteps, s.Seq)
	gauge(dLastStep, float64(s.Time.UnixNano())/1e9)
	for _, in := range s.Inputs {
		for _, st := range []string{"ok", "degraded", "absent"} {
			gauge(dInput, b2f(in.State == st), in.Input, st)
		}
	}
	for i := range s.Links {
		collectLink(&s.Links[i], counter, gauge)
	}
	if len(s.Verdicts) > 0 && s.WindowSeconds > 0 {
		gauge(dWindow, s.WindowSeconds)
	}
	for i := range s.Verdicts {
		v := &s.Verdicts[i]
		dir := dirNames[v.Direction]
		ch <- prometheus.MustNewConstMetric(dSaturated, prometheus.CounterValue, v.SaturatedSeconds, v.Interface, dir)
		ch <- prometheus.MustNewConstMetric(dCongested, prometheus.CounterValue, v.CongestedSeconds, v.Interface, dir)
		if !v.Judged {
			continue
		}
		for _, st := range verdictList {
			gauge(dVerdict, b2f(v.State == st), v.Interface, dir, st.String())
		}
		if v.Coverage != nil {
			gauge(dCoverage, *v.Coverage, v.Interface, dir)
		}
		if v.Utilization != nil {
			gauge(dVerdUtil, *v.Utilization, v.Interface, dir)
		}
	}
	if s.Capture != nil {
		collectCapture(s.Capture, counter, gauge)
	}
	for _, e := range s.Egress {
		for d, n := range dirNames {
			counter(dEgressBytes, e.Bytes[d], e.Class, n)
		}
		if e.Cost != nil {
			ch <- prometheus.MustNewConstMetric(dEgressCost, prometheus.CounterValue, *e.Cost, e.Class, e.Currency)
		}
	}
}

type (
	counterFunc func(d *prometheus.Desc, v uint64, l ...string)
	gaugeFunc   func(d *prometheus.Desc, v float64, l ...string)
)

func collectLink(l *Link, counter counterFunc, gauge gaugeFunc) {
	name := l.Interface
	gauge(dLinkUp, b2f(l.Up), name)
	for d, dir := range dirNames {
		counter(dLinkBytes, l.Bytes[d], name, dir)
		counter(dLinkPackets, l.Packets[d], name, dir)
		counter(dLinkErrors, l.Errors[d], name, dir)
		counter(dLinkDrops, l.Drops[d], name, dir)
		if l.CapacityBytesPerSec[d] > 0 {
			gauge(dLinkCapacity, l.CapacityBytesPerSec[d], name, dir, l.CapacitySource[d])
		}
		if u := l.Utilization[d]; u != nil {
			gauge(dLinkUtil, *u, name, dir)
		}
	}
	if q := l.Qdisc; q != nil {
		gauge(dQdiscInfo, 1, name, q.Kind)
		counter(dQdiscBytes, q.Bytes, name)
		counter(dQdiscPackets, q.Packets, name)
		counter(dQdiscDrops, q.Drops, name)
		counter(dQdiscOverlimits, q.Overlimits, name)
		counter(dQdiscRequeues, q.Requeues, name)
		gauge(dQdiscBacklogB, float64(q.BacklogBytes), name)
		gauge(dQdiscBacklogP, float64(q.BacklogPackets), name)
	}
}

func collectCapture(c *Capture, counter counterFunc, gauge gaugeFunc) {
	for _, h := range c.Handles {
		counter(dCapPackets, h.Packets, h.Interface)
		counter(dCapDrops, h.KernelDrops, h.Interface)
	}
	scope := c.Interface
	counter(dCapEvicted, c.EvictedFlows, scope)
	counter(dCapExpired, c.ExpiredFlows, scope)
	counter(dCapNonIP, c.NonIPPackets, scope)
	counter(dCapTruncated, c.TruncatedPackets, scope)
	gauge(dCapFlows, float64(c.Flows), scope)
	for d, dir := range dirNames {
		counter(dFlowBytes, c.FlowBytes[d], scope, dir)
		counter(dFlowPackets, c.FlowPackets[d], scope, dir)
		for _, u := range c.Unattributed {
			counter(dUnattributed, u.Bytes[d], scope, dir, u.Reason)
		}
		p := &c.Processes[d]
		for _, t := range p.Series {
			counter(dProcess, t.Bytes, scope, dir, t.Process, t.Container)
		}
		counter(dProcess, p.Other, scope, dir, OtherLabel, "")
		counter(dRetired, p.Retired, scope, dir, "process")
		r := &c.Remotes[d]
		for _, t := range r.Series {
			counter(dRemote, t.Bytes, scope, dir, t.Remote)
		}
		counter(dRemote, r.Other, scope, dir, OtherLabel)
		counter(dRetired, r.Retired, scope, dir, "remote")
	}
	for _, n := range c.RemoteNames {
		gauge(dRemoteInfo, 1, n.Remote, n.Name)
	}
	// Egress classes (by destination class: host, subnet, private, named
	// networks, cloud ranges, internet) become one more family here,
	// netriage_class_bytes_total{interface,direction,class}, from a third
	// group in Builder.capture keyed by the flow's class.
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
