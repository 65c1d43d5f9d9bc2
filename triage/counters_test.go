package triage

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStep(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur uint64
		want      CounterStep
	}{
		{"normal", 100, 250, CounterStep{Delta: 150}},
		{"unchanged", 7, 7, CounterStep{}},
		{"reset", 1_000_000, 300, CounterStep{Delta: 300, Reset: true}},
		{"reset to zero", 5, 0, CounterStep{Delta: 0, Reset: true}},
		{"64-bit wrap", math.MaxUint64 - 9, 20, CounterStep{Delta: 30, Wrapped: true}},
		{"wrap at max", math.MaxUint64, 0, CounterStep{Delta: 1, Wrapped: true}},
		{"huge backwards is reset", 1 << 60, 1 << 20, CounterStep{Delta: 1 << 20, Reset: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Step(tc.prev, tc.cur)); diff != "" {
				t.Errorf("Step(%d, %d) mismatch (-want +got):\n%s", tc.prev, tc.cur, diff)
			}
		})
	}
}

func TestStep32(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur uint64
		want      CounterStep
	}{
		{"normal", 10, 15, CounterStep{Delta: 5}},
		{"32-bit wrap", math.MaxUint32 - 4, 5, CounterStep{Delta: 10, Wrapped: true}},
		{"qdisc replaced", 1000, 3, CounterStep{Delta: 3, Reset: true}},
		{"beyond 32 bits falls back to Step", 1 << 40, 7, CounterStep{Delta: 7, Reset: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Step32(tc.prev, tc.cur)); diff != "" {
				t.Errorf("Step32(%d, %d) mismatch (-want +got):\n%s", tc.prev, tc.cur, diff)
			}
		})
	}
}

func sample(idx int, rxBytes, txBytes uint64, q *QdiscStats) IfaceSample {
	return IfaceSample{Name: "eth0", Index: idx, OperState: "up", AdminUp: true,
		Counters: IfaceCounters{RxBytes: rxBytes, TxBytes: txBytes, RxPackets: rxBytes / 100, TxPackets: txBytes / 100}, Qdisc: q}
}

func TestRates(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur IfaceSample
		dt        time.Duration
		want      IfaceRates
	}{
		{
			name: "normal", prev: sample(2, 1000, 2000, nil), cur: sample(2, 126_000, 2000, nil), dt: time.Second,
			want: IfaceRates{Valid: true, Interval: time.Second,
				Delta: IfaceCounters{RxBytes: 125_000, RxPackets: 1250}, RxBps: 1e6, RxPacketsPerSec: 1250},
		},
		{
			name: "half second", prev: sample(2, 0, 0, nil), cur: sample(2, 0, 500, nil), dt: 500 * time.Millisecond,
			want: IfaceRates{Valid: true, Interval: 500 * time.Millisecond,
				Delta: IfaceCounters{TxBytes: 500, TxPackets: 5}, TxBps: 8000, TxPacketsPerSec: 10},
		},
		{
			name: "counter reset counts from zero", prev: sample(2, 1_000_000, 0, nil), cur: sample(2, 1000, 0, nil), dt: time.Second,
			want: IfaceRates{Valid: true, Note: NoteReset, Interval: time.Second,
				Delta: IfaceCounters{RxBytes: 1000, RxPackets: 10}, RxBps: 8000, RxPacketsPerSec: 10},
		},
		{
			name: "64-bit wrap", prev: sample(2, math.MaxUint64-99, 0, nil), cur: sample(2, 900, 0, nil), dt: time.Second,
			want: IfaceRates{Valid: true, Interval: time.Second,
				// Packets: (MaxUint64-99)/100 -> 9 is a reset-looking step, counted from zero.
				Note:  NoteReset,
				Delta: IfaceCounters{RxBytes: 1000, RxPackets: 9}, RxBps: 8000, RxPacketsPerSec: 9},
		},
		{
			name: "re-created interface gives no rate", prev: sample(2, 1<<40, 1<<40, nil), cur: sample(9, 10, 10, nil), dt: time.Second,
			want: IfaceRates{Note: NoteRecreated, Interval: time.Second},
		},
		{
			name: "zero interval", prev: sample(2, 0, 0, nil), cur: sample(2, 10, 10, nil), dt: 0,
			want: IfaceRates{Note: NoteBadInterval},
		},
		{
			name: "qdisc drops", dt: 2 * time.Second,
			prev: sample(2, 0, 0, &QdiscStats{Kind: "tbf", Drops: 10, Overlimits: 100, Bytes: 1000, BacklogBytes: 5000}),
			cur:  sample(2, 0, 0, &QdiscStats{Kind: "tbf", Drops: 50, Overlimits: 300, Bytes: 251_000, BacklogBytes: 9000}),
			want: IfaceRates{Valid: true, Interval: 2 * time.Second, Qdisc: &QdiscRates{
				DropsDelta: 40, OverlimitsDelta: 200, BytesDelta: 250_000,
				DropsPerSec: 20, OverlimitsPerSec: 100, SentBps: 1e6}},
		},
		{
			name: "qdisc replaced by same kind resets", dt: time.Second,
			prev: sample(2, 0, 0, &QdiscStats{Kind: "tbf", Drops: 1000}),
			cur:  sample(2, 0, 0, &QdiscStats{Kind: "tbf", Drops: 3}),
			want: IfaceRates{Valid: true, Interval: time.Second, Qdisc: &QdiscRates{DropsDelta: 3, DropsPerSec: 3, Reset: true}},
		},
		{
			name: "qdisc kind changed gives no qdisc rate", dt: time.Second,
			prev: sample(2, 0, 0, &QdiscStats{Kind: "fq_codel", Drops: 1000}),
			cur:  sample(2, 0, 0, &QdiscStats{Kind: "tbf", Drops: 3}),
			want: IfaceRates{Valid: true, Interval: time.Second},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rates(tc.prev, tc.cur, tc.dt)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Rates mismatch (-want +got):\n%s", diff)
			}
			for _, v := range []float64{got.RxBps, got.TxBps, got.RxPacketsPerSec, got.TxPacketsPerSec} {
				if v < 0 || v > 1e13 {
					t.Errorf("absurd rate %v", v)
				}
			}
		})
	}
}

func TestResolveCapacity(t *testing.T) {
	tbf := &QdiscStats{Kind: "tbf", ShaperRateBps: 20e6}
	htb := &QdiscStats{Kind: "htb", ShaperRateBps: 50e6}
	fq := &QdiscStats{Kind: "fq_codel"}
	tests := []struct {
		name string
		user uint64
		s    IfaceSample
		want Capacity
	}{
		{"user wins", 1e9, IfaceSample{Qdisc: tbf, EthtoolSpeedBps: 10e9, SysfsSpeedBps: 10e9}, Capacity{1e9, true, CapacityUser}},
		{"tbf over ethtool", 0, IfaceSample{Qdisc: tbf, EthtoolSpeedBps: 10e9, SysfsSpeedBps: 10e9}, Capacity{20e6, true, CapacityShaperTBF}},
		{"htb over ethtool", 0, IfaceSample{Qdisc: htb, EthtoolSpeedBps: 10e9}, Capacity{50e6, true, CapacityShaperHTB}},
		{"non-shaper qdisc ignored", 0, IfaceSample{Qdisc: fq, EthtoolSpeedBps: 10e9, SysfsSpeedBps: 1e9}, Capacity{10e9, true, CapacityEthtool}},
		{"sysfs last", 0, IfaceSample{SysfsSpeedBps: 1e9}, Capacity{1e9, true, CapacitySysfs}},
		{"unknown", 0, IfaceSample{Qdisc: fq}, Capacity{Source: CapacityUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ResolveCapacity(tc.user, tc.s)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUtilization(t *testing.T) {
	if u := Utilization(5e6, Capacity{Source: CapacityUnknown}); u != nil {
		t.Errorf("unknown capacity: got %v, want nil", *u)
	}
	if u := Utilization(5e6, Capacity{Bps: 20e6, Known: true, Source: CapacityShaperTBF}); u == nil || *u != 0.25 {
		t.Errorf("got %v, want 0.25", u)
	}
}

func TestCompareLinks(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := &LinksSample{Seq: 1, Time: t0, Ifaces: []IfaceSample{
		{Name: "eth0", Index: 2, Counters: IfaceCounters{TxBytes: 0}, EthtoolSpeedBps: 1e9},
		{Name: "veth1", Index: 5},
	}}
	cur := &LinksSample{Seq: 2, Time: t0.Add(time.Second), Ifaces: []IfaceSample{
		{Name: "eth0", Index: 2, Counters: IfaceCounters{TxBytes: 12_500_000}, EthtoolSpeedBps: 1e9},
		{Name: "wg0", Index: 7},
	}}
	rows := CompareLinks(prev, cur, map[string]uint64{"wg0": 100e6})
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	eth, veth, wg := rows[0], rows[1], rows[2]
	if eth.Sample.Name != "eth0" || !eth.Rates.Valid || eth.Rates.TxBps != 100e6 || eth.TxUtilization == nil || *eth.TxUtilization != 0.1 {
		t.Errorf("eth0 row: %+v", eth)
	}
	if veth.Sample.Name != "veth1" || !veth.Gone || veth.Rates.Valid || veth.Rates.Note != NoteGone {
		t.Errorf("veth1 row: %+v", veth)
	}
	if wg.Sample.Name != "wg0" || wg.Rates.Valid || wg.Rates.Note != NoteNew || wg.Capacity.Source != CapacityUser {
		t.Errorf("wg0 row: %+v", wg)
	}
	first := CompareLinks(nil, cur, nil)
	if first[0].Rates.Valid || first[0].Rates.Note != NoteFirst {
		t.Errorf("first sample row: %+v", first[0])
	}
}

func TestResolveRxCapacity(t *testing.T) {
	tbf := &QdiscStats{Kind: "tbf", ShaperRateBps: 50_000_000}
	tests := []struct {
		name string
		user uint64
		s    IfaceSample
		want Capacity
	}{
		{"shaper is egress only: rx uses ethtool", 0, IfaceSample{Qdisc: tbf, EthtoolSpeedBps: 1e9}, Capacity{Bps: 1e9, Known: true, Source: CapacityEthtool}},
		{"shaper without link speed: rx unknown", 0, IfaceSample{Qdisc: tbf}, Capacity{Source: CapacityUnknown}},
		{"user figure applies to both", 10e9, IfaceSample{Qdisc: tbf, EthtoolSpeedBps: 1e9}, Capacity{Bps: 10e9, Known: true, Source: CapacityUser}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ResolveRxCapacity(tc.user, tc.s); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.s.Qdisc == nil {
				t.Error("ResolveRxCapacity changed its argument")
			}
		})
	}
}
