package views

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/egress"
	"netriage/triage/verdict"
)

// Demo returns a deterministic demonstration model for tick (seconds since
// start): a saturated uplink, a few busy processes and their connections.
// Addresses are from the benchmarking ranges 198.18.0.0/15 and
// fd00:198:18::/64. The same tick always gives the same model, so the demo
// source doubles as a fixture for tests and documentation captures.
func Demo(now time.Time, tick int) *Model {
	return DemoSized(now, tick, 24, 8)
}

// demoPrograms are the demo's processes: program, user, command line,
// container, remote name, remote port, service.
var demoPrograms = []struct {
	prog, user, cmd, cont, remote string
	port                          uint16
	svc, proto                    string
}{
	{"rsync", "backup", "rsync -a --delete /srv/data/ backup@198.18.7.10:/vol/data/", "", "backup-1.lab.example", 22, "ssh", "tcp"},
	{"nginx", "www-data", "nginx: worker process", "docker:web-7f3a", "", 443, "https", "tcp"},
	{"postgres", "postgres", "postgres: 16/main: walsender replicator 198.18.3.4(51622)", "", "db-replica.lab.example", 5432, "postgresql", "tcp"},
	{"curl", "alice", "curl -O https://mirror.lab.example/images/debian.iso", "", "mirror.lab.example", 443, "https", "tcp"},
	{"unbound", "unbound", "/usr/sbin/unbound -d -p", "systemd:unbound.service", "resolver.lab.example", 53, "domain", "udp"},
	{"chrony", "_chrony", "/usr/sbin/chronyd -F 1", "systemd:chrony.service", "ntp.lab.example", 123, "ntp", "udp"},
	{"node", "app", "node /srv/app/server.js --port 8080", "k8s:pod/api-5d9c", "", 8080, "http-alt", "tcp"},
	{"sshd", "root", "sshd: alice@pts/0", "", "laptop.lab.example", 22, "ssh", "tcp"},
}

// DemoSized is Demo with nFlows flows and nProcs processes, for benchmarks.
func DemoSized(now time.Time, tick, nFlows, nProcs int) *Model {
	m := &Model{Now: now, Seq: uint64(tick) + 1, Source: "demo data", Mode: "capture"}
	local4 := netip.MustParseAddr("198.18.0.2")
	local6 := netip.MustParseAddr("fd00:198:18::2")
	wave := func(i int, period float64) float64 {
		return 0.6 + 0.4*math.Sin(float64(tick+i)/period)
	}
	var totSent, totRecv BytesPerSec
	var totSentB, totRecvB uint64
	for i := 0; i < nFlows; i++ {
		p := demoPrograms[i%len(demoPrograms)]
		pid := 1000 + (i%max(nProcs, 1))*37
		remote := netip.AddrFrom4([4]byte{198, 18, byte(1 + i/250%250), byte(1 + i%250)})
		local := local4
		if i%5 == 4 {
			remote = netip.AddrFrom16([16]byte{0xfd, 0x00, 0x01, 0x98, 0x00, 0x18, 14: byte(i >> 8), 15: byte(i)})
			local = local6
		}
		// A heavy head and a long tail, like real traffic.
		base := 17_000_000.0 / float64((i+1)*(i+1))
		if base < 200 {
			base = 200 + float64(i%7)*50
		}
		sent := base * wave(i, 5)
		recv := base / 20 * wave(i, 3)
		if i%3 == 1 {
			sent, recv = recv, sent
		}
		br := func(v float64) BytesPerSec {
			return BytesPerSec{W2s: v * 1.1, W10s: v, W40s: v * 0.9, Peak: v * 1.4}
		}
		hist := make([]float64, 40)
		for h := range hist {
			hist[h] = (sent + recv) * wave(i+h, 4)
		}
		f := FlowRow{Proto: p.proto, Local: local, Remote: remote, LocalPort: uint16(40000 + i), RemotePort: p.port,
			RemoteName: p.remote, RemoteService: p.svc, Sent: br(sent), Recv: br(recv),
			SentBytes: uint64(sent * float64(tick+30)), RecvBytes: uint64(recv * float64(tick+30)),
			PID: pid, Process: p.prog, Container: p.cont, HistoryBytesPerSec: hist}
		if i >= len(demoPrograms) {
			f.RemoteName = ""
		}
		if p.port == 443 && p.prog == "nginx" {
			// Served, not fetched: the local side has the well-known port.
			f.LocalPort, f.RemotePort, f.LocalService, f.RemoteService = 443, uint16(50000+i), "https", ""
		}
		if i%11 == 10 {
			f.PID, f.Process, f.Container = 0, "", ""
		}
		m.Flows = append(m.Flows, f)
		totSent, totRecv = totSent.Add(f.Sent), totRecv.Add(f.Recv)
		totSentB += f.SentBytes
		totRecvB += f.RecvBytes
		m.Conns = append(m.Conns, ConnRow{Proto: f.Proto, Local: f.Local, Remote: f.Remote, LocalPort: f.LocalPort, RemotePort: f.RemotePort,
			RemoteName: f.RemoteName, State: map[bool]string{true: "ESTAB", false: ""}[f.Proto == "tcp"], PID: f.PID, Process: f.Process,
			Sent: f.Sent, Recv: f.Recv, SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, TCP: demoTCP(i, f.Proto)})
	}
	m.Totals = Totals{Sent: totSent, Recv: totRecv, SentBytes: totSentB, RecvBytes: totRecvB}

	// Processes and remotes from the connections.
	procIdx := map[int]int{}
	remIdx := map[netip.Addr]int{}
	for _, c := range m.Conns {
		if c.PID == 0 {
			continue
		}
		j, ok := procIdx[c.PID]
		if !ok {
			p := demoPrograms[(c.PID-1000)/37%len(demoPrograms)]
			for k := range demoPrograms {
				if demoPrograms[k].prog == c.Process {
					p = demoPrograms[k]
				}
			}
			j = len(m.Procs)
			procIdx[c.PID] = j
			m.Procs = append(m.Procs, ProcRow{PID: c.PID, User: p.user, Program: p.prog, Cmdline: p.cmd, Container: p.cont, Netns: "host"})
		}
		pr := &m.Procs[j]
		pr.Sent, pr.Recv = pr.Sent.Add(c.Sent), pr.Recv.Add(c.Recv)
		pr.SentBytes += c.SentBytes
		pr.RecvBytes += c.RecvBytes
		pr.Conns++
	}
	for _, c := range m.Conns {
		j, ok := remIdx[c.Remote]
		if !ok {
			j = len(m.Remotes)
			remIdx[c.Remote] = j
			m.Remotes = append(m.Remotes, RemoteRow{Addr: c.Remote, Name: c.RemoteName})
		}
		r := &m.Remotes[j]
		r.Sent, r.Recv = r.Sent.Add(c.Sent), r.Recv.Add(c.Recv)
		r.SentBytes += c.SentBytes
		r.RecvBytes += c.RecvBytes
		r.Conns++
		if c.Process != "" && (len(r.Processes) == 0 || r.Processes[len(r.Processes)-1] != c.Process) {
			r.Processes = append(r.Processes, c.Process)
		}
	}
	m.Procs = append(m.Procs,
		ProcRow{Unattributed: "forwarded", Sent: BytesPerSec{W2s: 1200, W10s: 1000, W40s: 900, Peak: 2000}, SentBytes: 40_000},
		ProcRow{Unattributed: "other protocols", Recv: BytesPerSec{W2s: 80, W10s: 64, W40s: 60, Peak: 120}, RecvBytes: 2_560})

	// Interfaces: eth0 is the saturated uplink, wg0 has no known capacity.
	const capEth0 = 200_000_000
	txEth0 := totSent.W2s * 1.003
	rxEth0 := totRecv.W2s * 1.003
	hist := func(v float64, ph int) []float64 {
		out := make([]float64, 60)
		for h := range out {
			out[h] = v * wave(h+ph, 6)
		}
		return out
	}
	m.Header = []IfaceLine{
		{Name: "eth0", Up: true, RxBytesPerSec: rxEth0, TxBytesPerSec: txEth0, CapacityBps: capEth0, CapacitySource: "tbf",
			RxHistoryBytesPerSec: hist(rxEth0, 0), TxHistoryBytesPerSec: hist(txEth0, 2), QdiscDropsPerSec: 37},
		{Name: "wg0", Up: true, RxBytesPerSec: 52_000, TxBytesPerSec: 18_500,
			RxHistoryBytesPerSec: hist(52_000, 1), TxHistoryBytesPerSec: hist(18_500, 3)},
	}
	m.Links = []LinkRow{
		{Name: "eth0", OperState: "up", MTU: 1500, CapacityBps: capEth0, CapacitySource: "tbf", RxBytesPerSec: rxEth0, TxBytesPerSec: txEth0,
			RxBytes: totRecvB + 1_000_000, TxBytes: totSentB + 2_000_000, RxPackets: 9_100_000, TxPackets: 12_400_000, TxDropped: 3,
			Qdisc: "tbf", QdiscDrops: 1_234, QdiscBacklogBytes: 180_000, QdiscBacklogPackets: 120, QdiscOverlimits: 5_600, QdiscRequeues: 12, QdiscDropsPerSec: 37},
		{Name: "wg0", OperState: "up", MTU: 1420, RxBytesPerSec: 52_000, TxBytesPerSec: 18_500, RxBytes: 91_000_000, TxBytes: 33_000_000,
			RxPackets: 80_000, TxPackets: 61_000, Qdisc: "noqueue"},
		{Name: "docker0", OperState: "down", MTU: 1500, Qdisc: "noqueue"},
	}
	// The burst sampler's view of eth0 tx over the window: 100 ms peaks at
	// the shaper's rate.
	peak := 1.0
	m.Links[0].TxBursts = &BurstView{IntervalMs: 100, PeakBytesPerSec: capEth0 / 8, PeakUtil: &peak, AboveWarnSec: 2.3, AboveCritSec: 1.4, SampledSec: 10,
		Warn: verdict.DefaultThresholds().WarnUtilization, Crit: verdict.DefaultThresholds().CritUtilization}
	util := txEth0 * 8 / capEth0
	// The documented rule, as check applies it: the tbf drops 37 packets
	// a second, so eth0 is saturated above the warning threshold and
	// congested below it.
	drops := m.Links[0].QdiscDropsPerSec >= verdict.DefaultThresholds().MinDropsPerSec
	m.Verdict = Verdict{Level: VerdictLevelOf(verdict.Judge(util, true, drops, verdict.DefaultThresholds())),
		Summary: fmt.Sprintf("eth0 tx %.0f%% of 200Mb/s (tbf)", util*100)}
	m.CoverageRatio, m.CoverageKnown = 0.997, true
	// Explaining flows of eth0 tx: the biggest senders up to 80%.
	acc := 0.0
	for _, f := range m.Flows {
		if acc >= 0.8 || totSent.W2s == 0 {
			break
		}
		if f.Sent.W2s < totSent.W2s*0.02 {
			continue
		}
		share := f.Sent.W2s / totSent.W2s
		acc += share
		m.Links[0].Explain = append(m.Links[0].Explain, ExplainRow{
			Label: fmt.Sprintf("%s %s ⇄ %s", f.Proto, netip.AddrPortFrom(f.Local, f.LocalPort), netip.AddrPortFrom(f.Remote, f.RemotePort)),
			Owner: f.Process, Share: share, BytesPerSec: f.Sent.W2s})
	}
	m.Egress, m.EgressTable, m.EgressPrices = demoEgress(m.Flows), demoEgressTable, demoPrices
	return m
}

// demoEgressTable classes the demo's remotes: the host on AWS in
// us-east-1, the first addresses of 198.18.1.0/24 in AWS ranges of its
// region and another one and in a Google range (internet), a peered
// network, the host's own IPv6 /64 on-link, and the rest of 198.18.0.0/15
// private (benchmarking).
var demoEgressTable = func() *egress.Table {
	pf := netip.MustParsePrefix
	t, err := egress.NewTable(egress.Rules{
		Host:     []netip.Addr{netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("fd00:198:18::2")},
		OnLink:   []netip.Prefix{pf("198.18.0.0/24"), pf("fd00:198:18::/64")},
		Place:    egress.Place{Provider: egress.ProviderAWS, Region: "us-east-1", Zone: "us-east-1a"},
		Networks: []egress.Network{{Name: "peer-vpc", Prefixes: []netip.Prefix{pf("198.18.1.16/28")}, Class: egress.ClassPeering}},
		Cloud: []egress.CloudRange{
			{Prefix: pf("198.18.1.0/30"), Provider: egress.ProviderAWS, Service: "S3", Region: "us-east-1"},
			{Prefix: pf("198.18.1.4/30"), Provider: egress.ProviderAWS, Service: "EC2", Region: "eu-west-1"},
			{Prefix: pf("198.18.1.8/29"), Provider: egress.ProviderGoogle, Service: "Google Cloud", Region: "us-east1"},
		},
	})
	if err != nil {
		panic("demo egress table: " + err.Error())
	}
	return t
}()

// demoPrices are example prices per GB (docs/egress.md): the link and
// private classes have none, so their costs show "-" and the total is a
// lower bound.
var demoPrices = egress.Prices{Unit: egress.UnitGB, Currency: "USD", Classes: map[egress.Class]egress.ClassPrice{
	egress.ClassInternet:    {Sent: egress.Known(0.09), Received: egress.Known(0)},
	egress.ClassCrossRegion: {Sent: egress.Known(0.02), Received: egress.Known(0)},
	egress.ClassSameRegion:  {Sent: egress.Known(0), Received: egress.Known(0)},
	egress.ClassPeering:     {Sent: egress.Known(0.01), Received: egress.Known(0.01)},
}}

// demoNames are the names the demo's first remotes were asked by (DNS),
// sent to (TLS SNI) or have (reverse DNS), by program.
var demoNames = map[string]egress.NameInfo{
	"rsync":    {DNS: "backup-1.lab.example", PTR: "backup-1.lab.example"},
	"postgres": {PTR: "db-replica.lab.example"},
	"curl":     {DNS: "mirror.lab.example", SNI: "mirror.lab.example"},
	"unbound":  {PTR: "resolver.lab.example"},
	"chrony":   {PTR: "ntp.lab.example"},
	"sshd":     {PTR: "laptop.lab.example"},
}

// demoEgress is the demo's egress rows: one per flow (remote and owner),
// named like the flows, plus an unknown row of bytes no flow row holds
// (taken from the first internet row, so the sums stay the flows').
func demoEgress(fl []FlowRow) []egress.Row {
	rows := make([]egress.Row, 0, len(fl)+1)
	unknown := -1
	for i := range fl {
		f := &fl[i]
		r := egress.Row{Remote: f.Remote, Process: FlowProcess(f), Sent: f.SentBytes, Received: f.RecvBytes,
			SentRate: f.Sent.W40s, ReceivedRate: f.Recv.W40s}
		n := demoNames[f.Process]
		switch {
		case i >= len(demoPrograms) && f.Process == "curl":
			n = egress.NameInfo{SNI: "cdn.mirror.lab.example"}
		case i >= len(demoPrograms) && f.Process == "node":
			n = egress.NameInfo{DNS: "api.lab.example"}
		case i >= len(demoPrograms):
			n = egress.NameInfo{}
		}
		r.Names = n
		r.Name, r.NameSource = n.Best()
		if unknown < 0 && r.Sent > 8192 && demoEgressTable.Classify(r.Remote).Class == egress.ClassInternet {
			unknown = len(rows)
		}
		rows = append(rows, r)
	}
	if unknown >= 0 {
		rows[unknown].Sent -= 4096
		rows[unknown].Received = max(rows[unknown].Received, 1024) - 1024
		rows = append(rows, egress.Row{Sent: 4096, Received: min(fl[unknown].RecvBytes, 1024)})
	}
	return rows
}

// demoHealth are the demo's TCP words, one per connection in turn: each
// limit with the numbers behind it, and one of a single sample.
var demoHealth = func() []attrib.TCPHealth {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	base := attrib.TCPHealth{RTT: ms(12.4), RTTVar: ms(1.9), MinRTT: ms(10.2), Cwnd: 42, TotalRetrans: 3, DeliveryBps: 11_500_000, PacingBps: 13_800_000,
		BusyShare: 1, RwndShare: 0.02, SndbufShare: 0, RetransShare: -1, Interval: time.Second}
	hs := make([]attrib.TCPHealth, 6)
	for i := range hs {
		hs[i] = base
	}
	hs[0].Limit, hs[0].Rule, hs[0].Retrans, hs[0].TotalRetrans, hs[0].RetransShare, hs[0].RTT = attrib.LimitNetwork, attrib.RuleRetrans, 38, 412, 0.031, ms(48.6)
	hs[1].Limit, hs[1].Rule, hs[1].RwndShare, hs[1].Cwnd = attrib.LimitReceiver, attrib.RuleRwnd, 0.92, 88
	hs[2].Limit, hs[2].Rule, hs[2].SndbufShare = attrib.LimitSender, attrib.RuleSndbuf, 0.71
	hs[3].Limit, hs[3].Rule, hs[3].BusyShare, hs[3].DeliveryBps, hs[3].PacingBps = attrib.LimitApplication, attrib.RuleBusyLow, 0.12, 1_250_000, 0
	hs[4].Limit, hs[4].Rule, hs[4].BusyShare, hs[4].RwndShare, hs[4].SndbufShare, hs[4].DeliveryBps = attrib.LimitIdle, attrib.RuleIdle, 0, -1, -1, 0
	hs[5] = attrib.TCPHealth{RTT: ms(0.3), RTTVar: ms(0.1), Cwnd: 10, BusyShare: -1, RwndShare: -1, SndbufShare: -1, RetransShare: -1}
	return hs
}()

// demoTCP is the health of the demo's connection i (nil for UDP).
func demoTCP(i int, proto string) *attrib.TCPHealth {
	if proto != "tcp" {
		return nil
	}
	return &demoHealth[i%len(demoHealth)]
}
