package main

import "context"

func init() {
	register(&command{name: "conns", summary: "traffic per connection (5-tuple) with its owning process", run: func(ctx context.Context, env *cmdEnv, args []string) int {
		return runWho(ctx, env, viewConns, args)
	}})
}

const connsUsage = `Usage: netriage conns [flags]

Traffic per connection: protocol, local and remote address and port, the
owning process (or why there is none), sent and received rates over 2 s,
10 s and 40 s, and cumulative bytes.

Without capture privileges, or with --source sockets, it runs in
socket-counter mode: TCP connections only, payload bytes from the kernel's
per-socket counters.`
