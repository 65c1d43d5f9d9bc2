package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

func init() {
	register(&command{name: "remotes", summary: "traffic per remote host, with names and the processes talking to it", run: func(ctx context.Context, env *cmdEnv, args []string) int {
		return runWho(ctx, env, viewRemotes, args)
	}})
}

const remotesUsage = `Usage: netriage remotes [flags]

Traffic per remote host: rates over 2 s, 10 s and 40 s, cumulative bytes,
number of connections, the processes talking to it, and its name (reverse
DNS, looked up in the background; -n turns it off).

Without capture privileges, or with --source sockets, it runs in
socket-counter mode: TCP only, payload bytes from the kernel's per-socket
counters.`

// whoResolver resolves addresses to names in the background: Name never
// blocks, answers from the cache, and queues a lookup on a miss. The cache
// and the number of lookups in flight are bounded.
type whoResolver struct {
	ctx      context.Context
	mu       sync.Mutex
	names    map[netip.Addr]string
	pending  map[netip.Addr]bool
	sem      chan struct{}
	maxCache int
}

func newWhoResolver(ctx context.Context) *whoResolver {
	return &whoResolver{ctx: ctx, names: map[netip.Addr]string{}, pending: map[netip.Addr]bool{}, sem: make(chan struct{}, 8), maxCache: 4096}
}

// Name returns the cached name of a, or "" while unknown.
func (r *whoResolver) Name(a netip.Addr) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.names[a]; ok {
		return n
	}
	if r.pending[a] || len(r.names)+len(r.pending) >= r.maxCache || a.IsUnspecified() {
		return ""
	}
	select {
	case r.sem <- struct{}{}:
	default:
		return "" // too many lookups in flight: try again next tick
	}
	r.pending[a] = true
	go r.lookup(a)
	return ""
}

func (r *whoResolver) lookup(a netip.Addr) {
	defer func() { <-r.sem }()
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	names, _ := net.DefaultResolver.LookupAddr(ctx, a.String())
	name := ""
	if len(names) > 0 {
		name = strings.TrimSuffix(names[0], ".")
	}
	r.mu.Lock()
	delete(r.pending, a)
	r.names[a] = name
	r.mu.Unlock()
}
