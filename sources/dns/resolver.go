// Package dns gives names to addresses and ports for display.
//
// # Reverse DNS
//
// A Resolver answers Name(addr) from its cache and never blocks: on a miss
// it queues a background lookup (bounded in number and in time) and answers
// "" until the lookup completes. Accounting and output never wait for DNS.
// Failed lookups are cached too (as ""), so an unreachable resolver costs
// one lookup per address, not one per tick. The cache is bounded; when full,
// arbitrary entries are dropped.
//
// # Port names
//
// Ports maps (protocol, port) to a service name, from a built-in table of
// well-known ports or from an /etc/services file.
package dns

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultMaxInFlight = 8
	DefaultMaxEntries  = 8192
)

// LookupFunc resolves one address to names (net.Resolver.LookupAddr's
// shape); tests pass a fake.
type LookupFunc func(ctx context.Context, addr string) ([]string, error)

// Options configure a Resolver; zero fields take the defaults.
type Options struct {
	// Timeout bounds each lookup.
	Timeout time.Duration
	// MaxInFlight bounds the lookups running at once; further misses are
	// retried on a later call.
	MaxInFlight int
	// MaxEntries bounds the cache (answers and failures).
	MaxEntries int
	// Lookup replaces the system resolver (net.DefaultResolver.LookupAddr).
	Lookup LookupFunc
}

// Stats counts a Resolver's work.
type Stats struct {
	Lookups  uint64 // lookups started
	Failures uint64 // lookups that failed or timed out
	Entries  int    // cached answers, failures included
	InFlight int    // lookups running now
}

// Resolver resolves addresses to names in the background; safe for
// concurrent use.
type Resolver struct {
	ctx    context.Context
	cancel context.CancelFunc
	opt    Options
	sem    chan struct{}
	mu     sync.Mutex
	names  map[netip.Addr]string
	busy   map[netip.Addr]struct{}
	stats  Stats
	wg     sync.WaitGroup
	closed bool
}

// New returns a Resolver whose lookups end when ctx does.
func New(ctx context.Context, o Options) *Resolver {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Lookup == nil {
		o.Lookup = net.DefaultResolver.LookupAddr
	}
	ctx, cancel := context.WithCancel(ctx)
	return &Resolver{
		ctx: ctx, cancel: cancel, opt: o, sem: make(chan struct{}, o.MaxInFlight),
		names: make(map[netip.Addr]string), busy: make(map[netip.Addr]struct{}),
	}
}

// Name returns the cached name of a, or "" while it is unknown, being
// looked up, or has none. It never blocks on the network.
func (r *Resolver) Name(a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return ""
	}
	a = a.Unmap()
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.names[a]; ok {
		return n
	}
	if _, ok := r.busy[a]; ok || r.closed || r.ctx.Err() != nil {
		return ""
	}
	select {
	case r.sem <- struct{}{}:
	default:
		return "" // enough lookups running: retried on a later call
	}
	r.busy[a] = struct{}{}
	r.stats.Lookups++
	r.wg.Add(1)
	go r.lookup(a)
	return ""
}

func (r *Resolver) lookup(a netip.Addr) {
	defer r.wg.Done()
	defer func() { <-r.sem }()
	ctx, cancel := context.WithTimeout(r.ctx, r.opt.Timeout)
	defer cancel()
	names, err := r.opt.Lookup(ctx, a.String())
	name := ""
	if err == nil && len(names) > 0 {
		name = cleanName(names[0])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.busy, a)
	if err != nil || name == "" {
		r.stats.Failures++
	}
	if r.ctx.Err() != nil && err != nil {
		return // cancelled, not an answer: do not cache
	}
	if len(r.names) >= r.opt.MaxEntries {
		for k := range r.names { // drop arbitrary entries: a quarter
			delete(r.names, k)
			if len(r.names) <= r.opt.MaxEntries*3/4 {
				break
			}
		}
	}
	r.names[a] = name
}

// Settle starts lookups of addrs and waits until each has an answer (a
// name or a failure), ctx is done, or budget has passed, whichever is
// first. It is for a one-shot report that may wait a little for names;
// views call Name, which never waits.
func (r *Resolver) Settle(ctx context.Context, addrs []netip.Addr, budget time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	for {
		pending := false
		for _, a := range addrs {
			r.Name(a)
			if !a.IsValid() || a.IsUnspecified() {
				continue
			}
			r.mu.Lock()
			_, ok := r.names[a.Unmap()]
			r.mu.Unlock()
			pending = pending || !ok
		}
		if !pending {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stats returns the resolver's counters.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Entries = len(r.names)
	s.InFlight = len(r.busy)
	return s
}

// Close cancels the running lookups and waits for them to return; later
// calls of Name answer from the cache only. Safe to call twice.
func (r *Resolver) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// cleanName trims the root dot and drops everything but the characters of
// a host name, so a hostile PTR record cannot put control characters or
// terminal escapes on screen. Names are cut at 253 bytes.
func cleanName(s string) string {
	s = strings.TrimSuffix(s, ".")
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 253; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
