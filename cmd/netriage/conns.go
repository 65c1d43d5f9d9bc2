package main

import (
	"context"

	"netriage/views/output"
)

func init() {
	register(&command{name: "conns", summary: "traffic per connection (5-tuple) with its owning process", run: func(ctx context.Context, env *cmdEnv, args []string) int {
		return runWho(ctx, env, output.ViewConns, args)
	}})
}
