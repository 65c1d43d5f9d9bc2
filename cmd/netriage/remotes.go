package main

import (
	"context"
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
