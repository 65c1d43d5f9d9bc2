package capture

import (
	"sync"
	"sync/atomic"
	"time"

	"netriage/triage/flows"
)

// Accountant owns a flow table and the capture's health counters and turns
// decoded packets into snapshots. Its methods are safe for concurrent use:
// capture goroutines call AddBatch, the engine calls Snapshot.
type Accountant struct {
	mu     sync.Mutex
	table  *flows.Table
	agg    flows.Aggregation
	health flows.Health
	// copying is set while SnapshotTop holds mu to copy the table: a ring
	// reader that finds mu taken then decodes aside (Live.lockAccount)
	// rather than wait; one that finds another reader there waits.
	copying atomic.Bool
}

// Totals returns the table's cumulative totals (no snapshot is taken).
func (a *Accountant) Totals() flows.Counts {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.table.Totals()
}

// NewAccountant returns an accountant over a new table. filter and localNet
// are only recorded in the snapshots' Health.
func NewAccountant(cfg flows.TableConfig, agg flows.Aggregation, filter, localNet string) *Accountant {
	return &Accountant{table: flows.NewTable(cfg), agg: agg, health: flows.Health{Filter: filter, LocalNet: localNet}}
}

// count updates the health counters and the table for one decoded frame.
// The caller holds a.mu.
func (a *Accountant) count(m *Meta) {
	h := &a.health
	h.Packets++
	if m.Flags&FlagTruncated != 0 {
		h.Truncated++
	}
	if m.Flags&FlagNonIP != 0 {
		h.NonIP++
		return
	}
	if m.Flags&FlagIP == 0 {
		return
	}
	if m.Flags&FlagFragment != 0 {
		h.Fragments++
	}
	h.LinkHeaderBytes += uint64(m.LinkHeader)
	a.table.Update(&m.Packet)
}

// Add counts one decoded frame.
func (a *Accountant) Add(m *Meta) {
	a.mu.Lock()
	a.count(m)
	a.mu.Unlock()
}

// AddBatch counts decoded frames under one lock; iface (an index into
// the interfaces set with SetInterfaces, or -1) gets the packets counted.
func (a *Accountant) AddBatch(ms []Meta, iface int) {
	a.mu.Lock()
	for i := range ms {
		a.count(&ms[i])
	}
	a.countInterface(iface, len(ms))
	a.mu.Unlock()
}

// countInterface adds n packets to interface iface's health entry. The
// caller holds a.mu.
func (a *Accountant) countInterface(iface, n int) {
	if iface >= 0 && iface < len(a.health.Interfaces) {
		a.health.Interfaces[iface].Packets += uint64(n)
	}
}

// SetInterfaces sets the per-handle health entries (names only).
func (a *Accountant) SetInterfaces(names []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.health.Interfaces = make([]flows.IfaceHealth, len(names))
	for i, n := range names {
		a.health.Interfaces[i].Name = n
	}
}

// SetWarnings sets the capture's warnings: what it was asked for and could
// not do (such as promiscuous mode), while it runs on.
func (a *Accountant) SetWarnings(ws []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.health.Warnings = append([]string(nil), ws...)
}

// AddWarning adds one warning to the capture's (see SetWarnings).
func (a *Accountant) AddWarning(w string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.health.Warnings = append(a.health.Warnings, w)
}

// UpdateInterface changes one interface's health entry under the lock.
func (a *Accountant) UpdateInterface(i int, fn func(*flows.IfaceHealth)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i >= 0 && i < len(a.health.Interfaces) {
		fn(&a.health.Interfaces[i])
	}
}

// SetAggregation changes the grouping of later snapshots.
func (a *Accountant) SetAggregation(agg flows.Aggregation) {
	a.mu.Lock()
	a.agg = agg
	a.mu.Unlock()
}

// Expire expires idle flows at now.
func (a *Accountant) Expire(now time.Time) {
	a.mu.Lock()
	a.table.Expire(now)
	a.mu.Unlock()
}

// Release hands the newest snapshot's flows back to the table (see
// flows.Table.Release): its consumer keeps nothing of them.
func (a *Accountant) Release(s *flows.Snapshot) {
	a.mu.Lock()
	a.table.Release(s)
	a.mu.Unlock()
}

// Snapshot returns the state at now, numbered by the table.
func (a *Accountant) Snapshot(now time.Time) flows.Snapshot {
	return a.SnapshotTop(now, 0, 0)
}

// SnapshotTop is Snapshot with only the first n flows of Sort's order by
// k (flows.Table.SnapshotTop); n = 0 takes every flow, unsorted.
func (a *Accountant) SnapshotTop(now time.Time, k flows.SortKey, n int) flows.Snapshot {
	a.mu.Lock()
	a.copying.Store(true)
	defer func() {
		a.copying.Store(false)
		a.mu.Unlock()
	}()
	var s flows.Snapshot
	if n > 0 {
		s = a.table.SnapshotTop(now, a.agg, k, n)
	} else {
		s = a.table.Snapshot(now, a.agg)
	}
	h := a.health
	h.Interfaces = append([]flows.IfaceHealth(nil), a.health.Interfaces...)
	h.Warnings = append([]string(nil), a.health.Warnings...)
	h.KernelDrops = 0
	for _, i := range h.Interfaces {
		h.KernelDrops += i.KernelDrops
	}
	h.EvictedFlows, h.ExpiredFlows, h.Bytes = s.Capture.EvictedFlows, s.Capture.ExpiredFlows, s.Capture.Bytes
	s.Capture = h
	return s
}
