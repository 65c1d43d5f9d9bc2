#!/bin/sh
# Enforces the dependency direction: triage/ and views/ are pure (no kernel,
# file or clock I/O); only views/tui may import gocui.
set -eu
bad=0
for pkg in $(go list ./triage/... ./views/... 2>/dev/null); do
	case "$pkg" in netriage/views/tui*) continue ;; esac
	imports=$(go list -f '{{join .Imports "\n"}}' "$pkg")
	for banned in os os/exec net syscall golang.org/x/sys/unix github.com/google/gopacket/afpacket github.com/google/gopacket/pcap github.com/vishvananda/netlink github.com/shirou/gopsutil/v3/process github.com/jroimartin/gocui netriage/sources netriage/cmd; do
		if echo "$imports" | grep -qx "$banned"; then
			echo "purity: $pkg imports $banned (triage/ and views/ must stay free of I/O)"; bad=1
		fi
	done
done
exit $bad
