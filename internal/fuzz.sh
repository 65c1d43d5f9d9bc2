#!/bin/sh
# Runs every Fuzz* target for a short time (first argument, e.g. 10s).
# Minimising a newly interesting input is capped at 1 s (the default is
# 60 s), so a short pass ends on time; failures are still reported.
set -eu
t="${1:-10s}"
found=0
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		found=1
		echo "fuzz $pkg $f ($t)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime 1s "$pkg"
	done
done
[ "$found" = 1 ] || echo "no fuzz targets yet"
