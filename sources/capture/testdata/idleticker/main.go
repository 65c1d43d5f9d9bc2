// Command idleticker is BenchmarkIdle's baseline: a bare Go program that
// wakes once a second on a ticker and writes one line, what a netriage
// subcommand writing a record every second would cost with nothing to
// read or compute. It stops after the number of seconds its argument
// gives (default 60).
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n := 60
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil && v > 0 {
			n = v
		}
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 0; i < n; i++ {
		now := <-t.C
		fmt.Println(now.Unix())
	}
}
