package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"

	"netriage/sources/clock"
	"netriage/triage/flows"
)

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Table configures the flow table. Replay does not expire idle flows
	// unless IdleTimeout is set, so the final snapshot lists every flow
	// of the file (up to MaxFlows; the rest is in Other).
	Table flows.TableConfig
	// Aggregation groups the snapshots' flows.
	Aggregation flows.Aggregation
	// Interval is the snapshot period in capture time (0: only the final
	// snapshot).
	Interval time.Duration
	// Filter is a tcpdump-syntax filter applied to every packet ("": all).
	Filter string
	// LocalNet describes Table.Local for the snapshots' Health.
	LocalNet string
	// Realtime paces the replay at the capture's own speed using Clock;
	// otherwise it runs as fast as possible.
	Realtime bool
	Clock    clock.Clock
	// OnSnapshot receives a snapshot every Interval of capture time.
	OnSnapshot func(flows.Snapshot)
	// OnProgress is called about every 64k packets and at the end with
	// the bytes read, the file size and the packets read.
	OnProgress func(read, size int64, packets uint64)
}

// Replay reads the capture file at path through the accounting and
// returns the final snapshot: cumulative per-flow totals of the whole file,
// rates at the end of its last second. On a damaged file it returns the
// snapshot of what was read before the damage together with a *FileError.
func Replay(ctx context.Context, path string, o ReplayOptions) (flows.Snapshot, error) {
	f, err := OpenFile(path)
	if err != nil {
		return flows.Snapshot{}, err
	}
	defer f.Close()
	return ReplayFile(ctx, f, o)
}

// ReplayFile is Replay over an opened File.
func ReplayFile(ctx context.Context, f *File, o ReplayOptions) (flows.Snapshot, error) {
	acc := NewAccountant(o.Table, o.Aggregation, o.Filter, o.LocalNet)
	acc.SetInterfaces([]string{f.Path()})
	var match *pcap.BPF
	if o.Filter != "" {
		lt := f.LinkType()
		if lt > 255 {
			return flows.Snapshot{}, fmt.Errorf("filter %q: libpcap cannot compile filters for link type %s", o.Filter, LinkTypeName(lt))
		}
		var err error
		match, err = pcap.NewBPF(layers.LinkType(lt), 262144, o.Filter)
		if err != nil {
			return flows.Snapshot{}, &FilterError{Expr: o.Filter, Err: err}
		}
	}
	var (
		m        Meta
		first    time.Time
		last     time.Time
		next     time.Time
		wallBase time.Time
		readErr  error
		n        uint64
	)
	for {
		if n&1023 == 0 && ctx.Err() != nil {
			readErr = ctx.Err()
			break
		}
		data, ci, link, err := f.ReadRaw()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		n++
		if match != nil && !match.Matches(ci, data) {
			continue
		}
		d := f.dec
		if d == nil || d.link != link {
			if d, err = f.decoderFor(link); err != nil {
				m = Meta{Flags: FlagNonIP}
				m.Time = ci.Timestamp
				acc.Add(&m)
				continue
			}
		}
		d.Decode(data, &ci, &m)
		ts := m.Time
		if first.IsZero() {
			first = ts
			if o.Interval > 0 {
				next = ts.Truncate(o.Interval).Add(o.Interval)
			}
			if o.Realtime && o.Clock != nil {
				wallBase = o.Clock.Now()
			}
		}
		if o.Realtime && o.Clock != nil {
			if wait := ts.Sub(first) - o.Clock.Now().Sub(wallBase); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if o.Interval > 0 && o.OnSnapshot != nil && !ts.Before(next) {
			// One snapshot at the last boundary reached (idle gaps do
			// not produce a flood of empty records).
			at := ts.Truncate(o.Interval)
			if o.Table.IdleTimeout > 0 {
				acc.Expire(at)
			}
			o.OnSnapshot(acc.Snapshot(at))
			next = at.Add(o.Interval)
		}
		if ts.After(last) {
			last = ts
		}
		acc.Add(&m)
		if o.OnProgress != nil && n&0xffff == 0 {
			o.OnProgress(f.Offset(), f.Size(), n)
		}
	}
	if o.OnProgress != nil {
		o.OnProgress(f.Offset(), f.Size(), n)
	}
	// The last second of the file counts as complete.
	end := last
	if !end.IsZero() {
		end = last.Truncate(time.Second).Add(time.Second)
	}
	s := acc.Snapshot(end)
	return s, readErr
}

func (fl *File) decoderFor(link LinkType) (*Decoder, error) {
	d := fl.decs[link]
	if d == nil {
		var err error
		if d, err = NewDecoder(link); err != nil {
			return nil, err
		}
		fl.decs[link] = d
	}
	fl.dec = d
	return d, nil
}

// FilterError is a filter expression libpcap could not compile.
type FilterError struct {
	Expr string
	Err  error
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter %q: %v", e.Expr, e.Err)
}

func (e *FilterError) Unwrap() error { return e.Err }
