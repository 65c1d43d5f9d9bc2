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
	"netriage/triage/engine"
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
	// From and To, when set, count only the packets of capture time in
	// [From, To), as a filter would (the others are read and skipped).
	From, To time.Time
	// OnSecond receives, for each second of capture time with counted
	// packets, the cumulative totals at its end (Unix second, in order).
	OnSecond func(sec int64, total flows.Counts)
	// Names, when set, gets the DNS responses and TLS ClientHellos of the
	// packets counted (Filter and From/To apply).
	Names *NameTap
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
	ff, err := NewFileFlows(f, o)
	if err != nil {
		return flows.Snapshot{}, err
	}
	for {
		t, ok := ff.Next(ctx)
		if !ok {
			break
		}
		if t.Last {
			return ff.Snapshot(t.Time), ff.Err()
		}
		if o.OnSnapshot != nil {
			o.OnSnapshot(ff.Snapshot(t.Time))
		}
	}
	return ff.Snapshot(ff.end()), ff.Err()
}

// FileFlows reads a capture file through the accounting as the engine
// asks for it: it is both the engine's Timeline (the packets' time is the
// clock) and its FlowSource. Next reads until the next Interval boundary of
// capture time; at the end of the file (or of what could be read) it
// returns a Last tick at the end of the file's last second.
type FileFlows struct {
	f        *File
	o        ReplayOptions
	acc      *Accountant
	match    *pcap.BPF
	m        Meta
	pending  bool // m holds a packet read but not yet counted
	first    time.Time
	last     time.Time
	next     time.Time
	wallBase time.Time
	n        uint64
	err      error
	ended    bool
	done     bool
	sec      int64 // the second of the last packet counted (OnSecond)
	secSeen  bool
}

// NewFileFlows prepares f for reading with o (OnSnapshot is not used; the
// caller takes snapshots). A filter libpcap cannot compile is a
// *FilterError.
func NewFileFlows(f *File, o ReplayOptions) (*FileFlows, error) {
	r := &FileFlows{f: f, o: o, acc: NewAccountant(o.Table, o.Aggregation, o.Filter, o.LocalNet)}
	r.acc.SetInterfaces([]string{f.Path()})
	if o.Filter != "" {
		lt := f.LinkType()
		if lt > 255 {
			return nil, fmt.Errorf("filter %q: libpcap cannot compile filters for link type %s", o.Filter, LinkTypeName(lt))
		}
		var err error
		r.match, err = pcap.NewBPF(layers.LinkType(lt), 262144, o.Filter)
		if err != nil {
			return nil, &FilterError{Expr: o.Filter, Err: err}
		}
	}
	return r, nil
}

// Err returns what stopped the reading before the end of the file (a
// damaged record, a cancelled context), nil at a clean end.
func (r *FileFlows) Err() error { return r.err }

// Packets returns the packets read so far.
func (r *FileFlows) Packets() uint64 { return r.n }

// Snapshot returns the accounting at capture time now.
func (r *FileFlows) Snapshot(now time.Time) flows.Snapshot { return r.acc.Snapshot(now) }

// end is the end of the file's last second: it counts as complete.
func (r *FileFlows) end() time.Time {
	if r.last.IsZero() {
		return r.last
	}
	return r.last.Truncate(time.Second).Add(time.Second)
}

// Next implements the engine's Timeline over the file.
func (r *FileFlows) Next(ctx context.Context) (engine.Tick, bool) {
	if r.done {
		return engine.Tick{}, false
	}
	if r.ended {
		r.done = true
		return engine.Tick{Time: r.end(), Last: true}, true
	}
	for {
		if r.pending {
			r.pending = false
			if r.m.Time.After(r.last) {
				r.last = r.m.Time
			}
			r.acc.Add(&r.m)
			if r.o.OnProgress != nil && r.n&0xffff == 0 {
				r.o.OnProgress(r.f.Offset(), r.f.Size(), r.n)
			}
		}
		if r.n&1023 == 0 && ctx.Err() != nil {
			r.err = ctx.Err()
			return r.finish()
		}
		data, ci, link, err := r.f.ReadRaw()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err = err
			}
			return r.finish()
		}
		r.n++
		if r.match != nil && !r.match.Matches(ci, data) {
			continue
		}
		d := r.f.dec
		if d == nil || d.link != link {
			if d, err = r.f.decoderFor(link); err != nil {
				r.m = Meta{Flags: FlagNonIP}
				r.m.Time = ci.Timestamp
				r.acc.Add(&r.m)
				continue
			}
		}
		d.Decode(data, &ci, &r.m)
		ts := r.m.Time
		if (!r.o.From.IsZero() && ts.Before(r.o.From)) || (!r.o.To.IsZero() && !ts.Before(r.o.To)) {
			continue
		}
		if r.o.OnSecond != nil {
			// Every packet before this one is counted: a new second
			// closes the previous one.
			if s := ts.Unix(); !r.secSeen || s != r.sec {
				if r.secSeen {
					r.o.OnSecond(r.sec, r.acc.Totals())
				}
				r.sec, r.secSeen = s, true
			}
		}
		if r.o.Names != nil && r.m.Flags&FlagIP != 0 && (r.m.Proto == flows.ProtoTCP || r.m.Proto == flows.ProtoUDP && r.m.SrcPort == 53) {
			r.o.Names.Packet(link, data, ts)
		}
		r.pending = true
		if r.first.IsZero() {
			r.first = ts
			if r.o.Interval > 0 {
				r.next = ts.Truncate(r.o.Interval).Add(r.o.Interval)
			}
			if r.o.Realtime && r.o.Clock != nil {
				r.wallBase = r.o.Clock.Now()
			}
		}
		if r.o.Realtime && r.o.Clock != nil {
			if wait := ts.Sub(r.first) - r.o.Clock.Now().Sub(r.wallBase); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		if r.o.Interval > 0 && !ts.Before(r.next) {
			// One tick at the last boundary reached (idle gaps do not
			// produce a flood of empty records); the packet that crossed
			// it is counted after the snapshot.
			at := ts.Truncate(r.o.Interval)
			if r.o.Table.IdleTimeout > 0 {
				r.acc.Expire(at)
			}
			r.next = at.Add(r.o.Interval)
			return engine.Tick{Time: at}, true
		}
	}
}

// Now is the capture time of the newest packet read (zero before the
// first): the file's clock, which the passive names expire against.
func (r *FileFlows) Now() time.Time { return r.last }

func (r *FileFlows) finish() (engine.Tick, bool) {
	if r.o.OnSecond != nil && r.secSeen {
		r.o.OnSecond(r.sec, r.acc.Totals())
	}
	if r.o.OnProgress != nil {
		r.o.OnProgress(r.f.Offset(), r.f.Size(), r.n)
	}
	r.ended = true
	return r.Next(context.Background())
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
