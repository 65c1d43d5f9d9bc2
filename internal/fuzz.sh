#!/bin/sh
# Runs every Fuzz* target for a bounded number of executions (first
# argument, e.g. 50000x). The budget is a count, not a duration: with a
# wall-clock -fuzztime, Go 1.26's fuzz coordinator can report its own
# stop deadline as a failure ("context deadline exceeded", no crasher;
# golang/go#75804). A count has no deadline to race. -timeout still bounds
# a hung target, and minimising a new input is capped at 1 s.
set -eu
n="${1:-50000x}"
case "$n" in
*x) ;;
*) echo "fuzz.sh: budget must be an execution count such as 50000x, got '$n'" >&2; exit 2 ;;
esac
found=0
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		found=1
		echo "fuzz $pkg $f ($n)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$n" -fuzzminimizetime 1s -timeout 3m "$pkg"
	done
done
[ "$found" = 1 ] || echo "no fuzz targets yet"
