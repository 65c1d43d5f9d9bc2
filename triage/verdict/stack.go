package verdict

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"netriage/triage"
	"netriage/triage/flows"
)

// ----- input -------------------------------------------------------------

// Stack is what the namespace's stack counters say over a window: the
// counter deltas of consecutive sample pairs summed (FromStack), the
// highest conntrack fill, per watched interface its NIC's loss and pause
// counters and its transmit queues' byte queue limits.
type Stack struct {
	// Samples is the number of stack samples in the window; Duration the
	// time their deltas cover.
	Samples  int
	Duration time.Duration
	// Softnet is the softirq backlog; nil when never read.
	Softnet *SoftnetWindow
	// Proto are the protocol counters' deltas; nil when never read.
	Proto *triage.ProtoCounters
	// Conntrack is nil when conntrack is not loaded (see Absent).
	Conntrack *ConntrackWindow
	// NICs and BQL have one entry per watched interface.
	NICs []NICWindow
	BQL  []BQLWindow
	// Absent are the parts that do not exist here, from the last sample.
	Absent []string
	// Reset reports a counter that went backwards in the window.
	Reset bool
	// Sockets are the namespace's sockets the endpoint-drops rule can
	// name (the engine fills them from its socket tables): UDP sockets
	// whose drop count rose over the window, most drops first, then TCP
	// listeners whose accept queue was full at a sample, most often
	// first.
	Sockets []EndpointSocket `json:",omitempty"`
}

// EndpointSocket is one socket of the window that lost packets or
// refused connections. Program is raw text: sanitise before output.
type EndpointSocket struct {
	Proto flows.Proto
	Local netip.AddrPort
	// PID and Program are the owner's at the socket's newest sample (0
	// and "" when it was not found).
	PID     int32
	Program string
	// Drops is a UDP socket's drop count's increase over the window
	// (sk_drops: receive buffer full, checksum or filter drops);
	// BufferFull says its receive queue held at least half of its buffer
	// at a sample of the window.
	Drops      uint64
	BufferFull bool
	// Listener: the accept queue was over its Backlog at FullSamples of
	// the Samples the listener was seen at; MaxQueue is the longest queue
	// sampled.
	Listener             bool
	FullSamples, Samples int
	Backlog, MaxQueue    uint32
}

// MaxNamedSockets is how many UDP sockets, and how many listeners, an
// endpoint-drops finding names.
const MaxNamedSockets = 3

// text says what the socket did: "udp 198.18.1.2:5000 (receiver[1234])
// dropped 812 datagrams (buffer full)".
func (e *EndpointSocket) text() string {
	owner := "owner unknown"
	if e.PID != 0 {
		owner = fmt.Sprintf("%s[%d]", e.Program, e.PID)
	}
	head := fmt.Sprintf("%s %s (%s)", e.Proto, e.Local, owner)
	if e.Listener {
		return fmt.Sprintf("%s accept queue full at %d of %d samples (%d queued, backlog %d)", head, e.FullSamples, e.Samples, e.MaxQueue, e.Backlog)
	}
	t := fmt.Sprintf("%s dropped %d datagrams", head, e.Drops)
	if e.BufferFull {
		t += " (buffer full)"
	}
	return t
}

// EndpointSocketReport is a socket an endpoint-drops finding names.
type EndpointSocketReport struct {
	// Proto is "udp" or "tcp"; Local the socket's address and port.
	Proto string `json:"proto"`
	Local string `json:"local"`
	// PID and Program are the owner (0 and "" when unknown).
	PID     int32  `json:"pid"`
	Program string `json:"program"`
	// Drops and BufferFull are a UDP socket's drops over the window and
	// whether its receive buffer was at least half full at a sample.
	Drops      uint64 `json:"drops"`
	BufferFull bool   `json:"buffer_full"`
	// Listener: a TCP listener whose accept queue was full at
	// AcceptQueueFull of Samples samples, with its backlog.
	Listener        bool   `json:"listener"`
	AcceptQueueFull int    `json:"accept_queue_full_samples"`
	Samples         int    `json:"samples"`
	Backlog         uint32 `json:"backlog"`
	MaxQueue        uint32 `json:"max_queue"`
}

// namedSockets are the sockets a finding names: at most MaxNamedSockets
// UDP sockets and as many listeners, in the window's order.
func namedSockets(all []EndpointSocket) []EndpointSocket {
	var out []EndpointSocket
	udp, lis := 0, 0
	for _, e := range all {
		switch {
		case e.Listener && lis < MaxNamedSockets:
			lis++
		case !e.Listener && udp < MaxNamedSockets:
			udp++
		default:
			continue
		}
		out = append(out, e)
	}
	return out
}

// SoftnetWindow is the softirq backlog's counters over the window.
type SoftnetWindow struct {
	Processed, Dropped, TimeSqueeze, FlowLimit uint64
	// CPUs are the CPUs that dropped or squeezed, by number.
	CPUs []triage.SoftnetDelta
}

// ConntrackWindow is the conntrack table over the window.
type ConntrackWindow struct {
	// Count and Max are those of the sample with the highest fill;
	// PeakFill is Count / Max (0 when Max is unknown).
	Count, Max uint64
	PeakFill   float64
	// InsertFailed, Drop and EarlyDrop are deltas over the window.
	InsertFailed, Drop, EarlyDrop uint64
	// NoStats says why the failure counters are unknown ("" when read).
	NoStats string
}

// NICWindow is one interface's driver statistics over the window.
type NICWindow struct {
	Interface, Driver string
	// Counters are the loss and pause counters in the driver's order:
	// Delta summed over the window, Value the last reading.
	Counters []triage.NICCounterDelta
	// Note says why there are no counters ("the driver exposes no
	// statistics").
	Note string
}

// BQLWindow is one interface's byte queue limits over the window.
type BQLWindow struct {
	Interface string
	Queues    []BQLQueueWindow
	// Note says why there are none ("the driver does not use BQL").
	Note string
}

// BQLQueueWindow is one transmit queue's byte queue limits over the
// window.
type BQLQueueWindow struct {
	Queue int
	// InflightMax is the most bytes in flight sampled; Limit the limit at
	// the last sample.
	InflightMax, Limit uint64
	// AtLimit counts the samples with inflight at or above the limit (the
	// queue stopped by BQL) out of Samples.
	AtLimit, Samples int
}

// FromStack summarises the stack steps taken during a window (in time
// order, each with its rates against the one before; the first one's
// rates, against a sample outside the window, are not used) for the
// watched interfaces. It returns nil without steps.
func FromStack(steps []triage.StackStep, watched []string) *Stack {
	if len(steps) == 0 {
		return nil
	}
	st := &Stack{Samples: len(steps)}
	last := steps[len(steps)-1].Sample
	st.Absent = append([]string(nil), last.Absent...)
	cpus := map[int]*triage.SoftnetDelta{}
	nics := map[string]*nicSum{}
	for _, name := range watched {
		nics[name] = &nicSum{w: NICWindow{Interface: name}, at: map[string]int{}}
	}
	var ctFill *ConntrackWindow
	for i := range steps {
		s := &steps[i].Sample
		if c := s.Conntrack; c != nil {
			if ctFill == nil || c.Fill() > ctFill.PeakFill || ctFill.Max == 0 && c.Count > ctFill.Count {
				ctFill = &ConntrackWindow{Count: c.Count, Max: c.Max, PeakFill: c.Fill()}
			}
		}
		if len(s.Softnet) > 0 && st.Softnet == nil {
			st.Softnet = &SoftnetWindow{}
		}
		if s.Proto != nil && st.Proto == nil {
			st.Proto = &triage.ProtoCounters{}
		}
		if i == 0 {
			continue
		}
		r := &steps[i].Rates
		if !r.Valid {
			continue
		}
		st.Duration += r.Interval
		st.Reset = st.Reset || r.Reset
		if st.Softnet != nil {
			sw := st.Softnet
			sw.Processed += r.SoftnetTotal.Processed
			sw.Dropped += r.SoftnetTotal.Dropped
			sw.TimeSqueeze += r.SoftnetTotal.TimeSqueeze
			sw.FlowLimit += r.SoftnetTotal.FlowLimit
			for _, d := range r.Softnet {
				c := cpus[d.CPU]
				if c == nil {
					c = &triage.SoftnetDelta{CPU: d.CPU}
					cpus[d.CPU] = c
				}
				c.Processed += d.Processed
				c.Dropped += d.Dropped
				c.TimeSqueeze += d.TimeSqueeze
				c.FlowLimit += d.FlowLimit
			}
		}
		if r.Proto != nil && st.Proto != nil {
			st.Proto.Add(*r.Proto)
		}
		if rc := r.Conntrack; rc != nil {
			if st.Conntrack == nil {
				st.Conntrack = &ConntrackWindow{}
			}
			st.Conntrack.InsertFailed += rc.InsertFailed
			st.Conntrack.Drop += rc.Drop
			st.Conntrack.EarlyDrop += rc.EarlyDrop
			st.Conntrack.NoStats = rc.NoStats
		}
		for _, nr := range r.Ifaces {
			ns := nics[nr.Name]
			if ns == nil || !nr.Valid {
				continue
			}
			for _, c := range nr.Counters {
				ns.add(c)
			}
		}
	}
	if st.Proto != nil {
		st.Proto.Missing = nil
		if last.Proto != nil {
			st.Proto.Missing = last.Proto.Missing
		}
	}
	if ctFill != nil {
		if st.Conntrack == nil {
			st.Conntrack = &ConntrackWindow{}
			if last.Conntrack != nil {
				st.Conntrack.NoStats = last.Conntrack.NoStats
			}
		}
		st.Conntrack.Count, st.Conntrack.Max, st.Conntrack.PeakFill = ctFill.Count, ctFill.Max, ctFill.PeakFill
	}
	if st.Softnet != nil {
		for _, c := range cpus {
			if c.Dropped > 0 || c.TimeSqueeze > 0 {
				st.Softnet.CPUs = append(st.Softnet.CPUs, *c)
			}
		}
		sort.Slice(st.Softnet.CPUs, func(i, j int) bool { return st.Softnet.CPUs[i].CPU < st.Softnet.CPUs[j].CPU })
	}
	for _, name := range watched {
		ns := nics[name]
		nw := &ns.w
		li, ok := last.Iface(name)
		if ok && li.NIC != nil {
			nw.Driver = li.NIC.Driver
			for k, n := range li.NIC.Names {
				if i, ok := ns.at[n]; ok && k < len(li.NIC.Values) {
					nw.Counters[i].Value = li.NIC.Values[k]
				}
			}
		} else if ok {
			nw.Note = li.NICNote
		}
		st.NICs = append(st.NICs, *nw)
		st.BQL = append(st.BQL, bqlWindow(steps, name))
	}
	return st
}

// nicSum sums one interface's NIC counter deltas by name.
type nicSum struct {
	w  NICWindow
	at map[string]int // index in w.Counters by name
}

func (n *nicSum) add(c triage.NICCounterDelta) {
	if i, ok := n.at[c.Name]; ok {
		n.w.Counters[i].Delta += c.Delta
		n.w.Counters[i].Value = c.Value
		return
	}
	n.at[c.Name] = len(n.w.Counters)
	n.w.Counters = append(n.w.Counters, c)
}

func bqlWindow(steps []triage.StackStep, name string) BQLWindow {
	bw := BQLWindow{Interface: name}
	byQueue := map[int]int{}
	for i := range steps {
		si, ok := steps[i].Sample.Iface(name)
		if !ok {
			continue
		}
		if si.BQL == nil {
			bw.Note = si.BQLNote
		}
		for _, q := range si.BQL {
			k, ok := byQueue[q.Queue]
			if !ok {
				k = len(bw.Queues)
				byQueue[q.Queue] = k
				bw.Queues = append(bw.Queues, BQLQueueWindow{Queue: q.Queue})
			}
			qw := &bw.Queues[k]
			qw.Samples++
			qw.InflightMax = max(qw.InflightMax, q.Inflight)
			qw.Limit = q.Limit
			if q.Limit > 0 && q.Inflight >= q.Limit {
				qw.AtLimit++
			}
		}
	}
	if len(bw.Queues) > 0 {
		bw.Note = ""
		sort.Slice(bw.Queues, func(i, j int) bool { return bw.Queues[i].Queue < bw.Queues[j].Queue })
	}
	return bw
}

// ----- output ------------------------------------------------------------

// Rules of the stack findings, in the order a person should look: from the
// wire inwards, after the link itself.
const (
	RuleNICDrops      = "nic-drops"
	RuleSoftirqDrops  = "softirq-drops"
	RuleConntrackFull = "conntrack-full"
	RuleEndpointDrops = "endpoint-drops"
)

// Finding is one place outside the link where packets were lost.
type Finding struct {
	// Rule is RuleBursty, RuleNICDrops, RuleSoftirqDrops,
	// RuleConntrackFull or RuleEndpointDrops.
	Rule string `json:"rule"`
	// Status is critical for loss at the NIC, the softirq backlog and
	// conntrack (every flow of the host loses packets there), warning for
	// endpoint loss (one application's buffers or listen queue).
	Status Status `json:"status"`
	// Where names the place: "eth0 NIC", "softirq backlog", "conntrack",
	// "endpoints".
	Where string `json:"where"`
	// Summary is one line for the status line; Reasons are the evidence
	// and what it means, in words.
	Summary string   `json:"summary"`
	Reasons []string `json:"reasons"`
	// Sockets are the sockets an endpoint-drops finding names (absent
	// when the socket tables name none, and for the other rules).
	Sockets []EndpointSocketReport `json:"sockets,omitempty"`
}

// Count is a counter's increase over the window and its rate.
type Count struct {
	Count  uint64  `json:"count"`
	PerSec float64 `json:"per_s"`
}

// StackReport is the stack evidence as reported.
type StackReport struct {
	// DurationSec is the time the counts cover.
	DurationSec float64 `json:"duration_s"`
	// Softnet is null when /proc/net/softnet_stat could not be read.
	Softnet *SoftnetReport `json:"softnet"`
	// TCP, UDP and IP are null when /proc/net/snmp could not be read.
	TCP *TCPReport `json:"tcp"`
	UDP *UDPReport `json:"udp"`
	IP  *IPReport  `json:"ip"`
	// EndpointDrops is what the endpoint-drops rule counts: listen drops
	// (overflows included), backlog drops and UDP buffer errors; null
	// with TCP.
	EndpointDrops *Count `json:"endpoint_drops"`
	// Conntrack is null when conntrack is not loaded.
	Conntrack *ConntrackReport `json:"conntrack"`
	NICs      []NICReport      `json:"nics"`
	BQL       []BQLReport      `json:"bql"`
	// Absent says which parts do not exist here and why.
	Absent []string `json:"absent"`
	// CounterReset: a stack counter went backwards in the window.
	CounterReset bool `json:"counter_reset"`
}

// SoftnetReport is the softirq backlog (all CPUs, and each CPU that
// dropped or squeezed).
type SoftnetReport struct {
	Dropped     Count           `json:"dropped"`
	TimeSqueeze Count           `json:"time_squeeze"`
	FlowLimit   Count           `json:"flow_limit"`
	CPUs        []SoftnetCPURow `json:"cpus"`
}

// SoftnetCPURow is one CPU's softirq backlog counts.
type SoftnetCPURow struct {
	CPU         int    `json:"cpu"`
	Dropped     uint64 `json:"dropped"`
	TimeSqueeze uint64 `json:"time_squeeze"`
	FlowLimit   uint64 `json:"flow_limit"`
}

// TCPReport are the namespace's TCP counters of loss.
type TCPReport struct {
	RetransSegs     Count `json:"retrans_segs"`
	Timeouts        Count `json:"timeouts"`
	ListenOverflows Count `json:"listen_overflows"`
	ListenDrops     Count `json:"listen_drops"`
	BacklogDrops    Count `json:"backlog_drops"`
}

// UDPReport are the namespace's UDP counters of loss, IPv4 and IPv6
// together.
type UDPReport struct {
	RcvbufErrors Count `json:"rcvbuf_errors"`
	SndbufErrors Count `json:"sndbuf_errors"`
	InErrors     Count `json:"in_errors"`
}

// IPReport are the namespace's IP input discards, IPv4 and IPv6 together.
type IPReport struct {
	InDiscards Count `json:"in_discards"`
}

// ConntrackReport is the conntrack table over the window.
type ConntrackReport struct {
	Count    uint64  `json:"count"`
	Max      uint64  `json:"max"`
	PeakFill float64 `json:"peak_fill"`
	// InsertFailed, Drop and EarlyDrop are null when the per-CPU
	// statistics could not be read.
	InsertFailed *Count `json:"insert_failed"`
	Drop         *Count `json:"drop"`
	EarlyDrop    *Count `json:"early_drop"`
}

// NICReport is one interface's driver statistics over the window.
type NICReport struct {
	Interface string `json:"interface"`
	Driver    string `json:"driver"`
	// Lost is the packets the driver's loss counters counted (the larger
	// of the per-queue and the device-wide sums).
	Lost Count `json:"lost"`
	// Counters are the loss and pause counters by the driver's own names.
	Counters []NICCounterReport `json:"counters"`
	Note     string             `json:"note"`
}

// NICCounterReport is one driver counter.
type NICCounterReport struct {
	Name   string          `json:"name"`
	Class  triage.NICClass `json:"class"`
	Value  uint64          `json:"value"`
	Count  uint64          `json:"count"`
	PerSec float64         `json:"per_s"`
}

// BQLReport is one interface's byte queue limits.
type BQLReport struct {
	Interface string           `json:"interface"`
	Queues    []BQLQueueReport `json:"queues"`
	Note      string           `json:"note"`
}

// BQLQueueReport is one transmit queue's byte queue limits.
type BQLQueueReport struct {
	Queue       int    `json:"queue"`
	InflightMax uint64 `json:"inflight_max_bytes"`
	Limit       uint64 `json:"limit_bytes"`
	AtLimit     int    `json:"at_limit_samples"`
	Samples     int    `json:"samples"`
}

// evaluateStack turns the window's stack evidence into findings (in the
// order to look: NICs, softirq backlog, conntrack, endpoints) and its
// report; notes are window-wide remarks (pause frames).
func evaluateStack(st *Stack, cfg Thresholds, judge bool) (findings []Finding, rep *StackReport, notes []string) {
	if st == nil {
		return nil, nil, nil
	}
	sec := st.Duration.Seconds()
	cnt := func(n uint64) Count {
		c := Count{Count: n}
		if sec > 0 {
			c.PerSec = round(float64(n)/sec, 3)
		}
		return c
	}
	rep = &StackReport{DurationSec: round(sec, 3), NICs: []NICReport{}, BQL: []BQLReport{}, Absent: nonNil(st.Absent), CounterReset: st.Reset}
	fires := func(n uint64, thr float64) bool { return judge && sec > 0 && n > 0 && cnt(n).PerSec >= thr }

	// NICs.
	for _, nw := range st.NICs {
		nr := NICReport{Interface: nw.Interface, Driver: nw.Driver, Counters: []NICCounterReport{}, Note: nw.Note}
		var lossy, pause []string
		var pauseN uint64
		for _, c := range nw.Counters {
			nr.Counters = append(nr.Counters, NICCounterReport{Name: c.Name, Class: c.Class, Value: c.Value, Count: c.Delta, PerSec: cnt(c.Delta).PerSec})
			switch {
			case c.Delta == 0:
			case c.Class.Loss():
				lossy = append(lossy, fmt.Sprintf("%s +%d", c.Name, c.Delta))
			case c.Class == triage.NICPause:
				pause = append(pause, fmt.Sprintf("%s +%d", c.Name, c.Delta))
				pauseN += c.Delta
			}
		}
		lost := triage.NICLoss(nw.Counters)
		nr.Lost = cnt(lost)
		rep.NICs = append(rep.NICs, nr)
		if pauseN > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d pause frames in the window (%s): flow control held the link, the peer or this NIC could not keep up", nw.Interface, pauseN, strings.Join(pause, ", ")))
		}
		if !fires(lost, cfg.NICDropsPerSec) {
			continue
		}
		drv := nw.Driver
		if drv == "" {
			drv = "NIC"
		}
		f := Finding{Rule: RuleNICDrops, Status: StatusCritical, Where: nw.Interface + " NIC",
			Summary: fmt.Sprintf("%s NIC lost %d packets (%.1f/s: %s)", nw.Interface, lost, nr.Lost.PerSec, firstN(lossy, 3)),
			Reasons: []string{fmt.Sprintf("the %s driver of %s counted %d lost packets in the window (%.1f/s, threshold %g/s): %s",
				drv, nw.Interface, lost, nr.Lost.PerSec, cfg.NICDropsPerSec, strings.Join(lossy, ", "))}}
		f.Reasons = append(f.Reasons, nicMeaning(nw.Counters)...)
		findings = append(findings, f)
	}
	for _, bw := range st.BQL {
		br := BQLReport{Interface: bw.Interface, Queues: []BQLQueueReport{}, Note: bw.Note}
		for _, q := range bw.Queues {
			br.Queues = append(br.Queues, BQLQueueReport{Queue: q.Queue, InflightMax: q.InflightMax, Limit: q.Limit, AtLimit: q.AtLimit, Samples: q.Samples})
		}
		rep.BQL = append(rep.BQL, br)
	}

	// The softirq backlog.
	if sw := st.Softnet; sw != nil {
		sr := &SoftnetReport{Dropped: cnt(sw.Dropped), TimeSqueeze: cnt(sw.TimeSqueeze), FlowLimit: cnt(sw.FlowLimit), CPUs: []SoftnetCPURow{}}
		var dropCPUs []string
		for _, c := range sw.CPUs {
			sr.CPUs = append(sr.CPUs, SoftnetCPURow{CPU: c.CPU, Dropped: c.Dropped, TimeSqueeze: c.TimeSqueeze, FlowLimit: c.FlowLimit})
			if c.Dropped > 0 {
				dropCPUs = append(dropCPUs, fmt.Sprintf("CPU %d: %d", c.CPU, c.Dropped))
			}
		}
		rep.Softnet = sr
		if fires(sw.Dropped, cfg.SoftirqDropsPerSec) {
			f := Finding{Rule: RuleSoftirqDrops, Status: StatusCritical, Where: "softirq backlog",
				Summary: fmt.Sprintf("softirq backlog dropped %d packets (%.1f/s; %s)", sw.Dropped, sr.Dropped.PerSec, firstN(dropCPUs, 3)),
				Reasons: []string{fmt.Sprintf("the host's per-CPU receive backlog (shared by every namespace) dropped %d packets in the window (%.1f/s, threshold %g/s; %s): packets arrive faster than the CPU that receives them processes them, or net.core.netdev_max_backlog is too small for the bursts",
					sw.Dropped, sr.Dropped.PerSec, cfg.SoftirqDropsPerSec, strings.Join(dropCPUs, ", "))}}
			if sw.FlowLimit > 0 {
				f.Reasons = append(f.Reasons, fmt.Sprintf("%d of them by the flow limit (net.core.flow_limit_cpu_bitmap): one large flow filled the backlog", sw.FlowLimit))
			}
			if sw.TimeSqueeze > 0 {
				f.Reasons = append(f.Reasons, fmt.Sprintf("the softirq ran out of budget or time %d times (%.1f/s): the receiving CPU is saturated (spread the load with RSS or RPS, or raise net.core.netdev_budget)", sw.TimeSqueeze, sr.TimeSqueeze.PerSec))
			}
			findings = append(findings, f)
		}
	}

	// Conntrack.
	if ct := st.Conntrack; ct != nil {
		cr := &ConntrackReport{Count: ct.Count, Max: ct.Max, PeakFill: round(ct.PeakFill, 6)}
		if ct.NoStats == "" {
			i, d, e := cnt(ct.InsertFailed), cnt(ct.Drop), cnt(ct.EarlyDrop)
			cr.InsertFailed, cr.Drop, cr.EarlyDrop = &i, &d, &e
		}
		rep.Conntrack = cr
		failures := ct.InsertFailed + ct.Drop + ct.EarlyDrop
		full := judge && ct.Max > 0 && ct.PeakFill >= cfg.ConntrackFullRatio
		failing := ct.NoStats == "" && fires(failures, cfg.ConntrackDropsPerSec)
		if full || failing {
			var why []string
			if ct.Max > 0 {
				why = append(why, fmt.Sprintf("at %s of %d entries", pct(ct.PeakFill), ct.Max))
			}
			if ct.NoStats == "" {
				why = append(why, fmt.Sprintf("%d drops, %d early drops, %d insert failures", ct.Drop, ct.EarlyDrop, ct.InsertFailed))
			}
			f := Finding{Rule: RuleConntrackFull, Status: StatusCritical, Where: "conntrack",
				Summary: "conntrack table " + strings.Join(why, ", ")}
			if full {
				f.Reasons = append(f.Reasons, fmt.Sprintf("the conntrack table held %d of %d entries (%s, threshold %s): new connections are dropped when it is full (raise net.netfilter.nf_conntrack_max, shorten the timeouts, or stop tracking traffic that needs no state)",
					ct.Count, ct.Max, pct(ct.PeakFill), pct(cfg.ConntrackFullRatio)))
			}
			if failing {
				f.Reasons = append(f.Reasons, fmt.Sprintf("conntrack dropped %d packets, evicted %d entries early and failed %d inserts in the window (%.1f/s together, threshold %s): packets of new connections were lost",
					ct.Drop, ct.EarlyDrop, ct.InsertFailed, cnt(failures).PerSec, rateThreshold(cfg.ConntrackDropsPerSec)))
			}
			findings = append(findings, f)
		}
	}

	// Endpoints.
	if p := st.Proto; p != nil {
		rep.TCP = &TCPReport{RetransSegs: cnt(p.TCPRetransSegs), Timeouts: cnt(p.TCPTimeouts), ListenOverflows: cnt(p.ListenOverflows),
			ListenDrops: cnt(p.ListenDrops), BacklogDrops: cnt(p.TCPBacklogDrop)}
		rep.UDP = &UDPReport{RcvbufErrors: cnt(p.UDPRcvbufErrors + p.UDP6RcvbufErrors), SndbufErrors: cnt(p.UDPSndbufErrors + p.UDP6SndbufErrors),
			InErrors: cnt(p.UDPInErrors + p.UDP6InErrors)}
		rep.IP = &IPReport{InDiscards: cnt(p.IPInDiscards + p.IP6InDiscards)}
		ed := cnt(p.EndpointDrops())
		rep.EndpointDrops = &ed
		if n := p.EndpointDrops(); fires(n, cfg.EndpointDropsPerSec) {
			f := Finding{Rule: RuleEndpointDrops, Status: StatusWarning, Where: "endpoints"}
			var parts []string
			add := func(n uint64, what, meaning string) {
				if n == 0 {
					return
				}
				parts = append(parts, fmt.Sprintf("%s +%d", what, n))
				f.Reasons = append(f.Reasons, fmt.Sprintf("%s: %d in the window (%.1f/s): %s", what, n, cnt(n).PerSec, meaning))
			}
			add(max(p.ListenDrops, p.ListenOverflows), "TCP listen drops", fmt.Sprintf("a listener dropped connection attempts (%d of them because its accept queue overflowed): the application accepts too slowly, or its backlog (listen(2), net.core.somaxconn) is too small", p.ListenOverflows))
			add(p.TCPBacklogDrop, "TCP backlog drops", "segments arrived while the application held its socket and the socket's backlog was full")
			add(p.UDPRcvbufErrors+p.UDP6RcvbufErrors, "UDP receive buffer errors", "a receiver reads too slowly, or its receive buffer (SO_RCVBUF, net.core.rmem_max) is too small")
			add(p.UDPSndbufErrors+p.UDP6SndbufErrors, "UDP send buffer errors", "a sender's buffer was full: sends failed with ENOBUFS or EAGAIN")
			f.Summary = fmt.Sprintf("endpoints dropped %d packets (%.1f/s: %s)", n, cnt(n).PerSec, strings.Join(parts, ", "))
			f.Reasons = append([]string{fmt.Sprintf("sockets of this namespace lost %d packets in the window (%.1f/s, threshold %g/s); the network delivered them, the endpoint could not take them", n, cnt(n).PerSec, cfg.EndpointDropsPerSec)}, f.Reasons...)
			if named := namedSockets(st.Sockets); len(named) > 0 {
				f.Summary += ": " + named[0].text()
				if len(named) > 1 {
					f.Summary += fmt.Sprintf(" and %d more", len(named)-1)
				}
				for i := range named {
					e := &named[i]
					f.Reasons = append(f.Reasons, e.text())
					f.Sockets = append(f.Sockets, EndpointSocketReport{Proto: e.Proto.String(), Local: e.Local.String(), PID: e.PID, Program: e.Program,
						Drops: e.Drops, BufferFull: e.BufferFull, Listener: e.Listener, AcceptQueueFull: e.FullSamples, Samples: e.Samples,
						Backlog: e.Backlog, MaxQueue: e.MaxQueue})
				}
			}
			findings = append(findings, f)
		}
	}
	return findings, rep, notes
}

// rateThreshold words a rate threshold: "any" for 0.
func rateThreshold(v float64) string {
	if v == 0 {
		return "any"
	}
	return fmt.Sprintf("%g/s", v)
}

// nicMeaning says what the NIC's lossy counter classes mean.
func nicMeaning(cs []triage.NICCounterDelta) []string {
	seen := map[triage.NICClass]bool{}
	for _, c := range cs {
		if c.Delta > 0 {
			seen[c.Class] = true
		}
	}
	var out []string
	if seen[triage.NICRxMissed] {
		out = append(out, "missed, no-buffer or FIFO counters: the NIC had no free receive descriptor, its ring is too small or the CPU does not empty it fast enough (ethtool -g/-G, interrupt coalescing, RSS)")
	}
	if seen[triage.NICQueueDrop] || seen[triage.NICDrop] {
		out = append(out, "drop or discard counters: the driver dropped packets in its queues")
	}
	if seen[triage.NICAllowance] {
		out = append(out, "allowance counters: the cloud platform queued or dropped packets above the instance's bandwidth, packet-rate or connection allowance")
	}
	return out
}

// firstN joins at most n items, saying how many more there are.
func firstN(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
