#!/bin/sh
# Enforces the dependency direction, transitively: triage/ and views/ (except
# the two thin hosts: views/tui, the gocui host, and views/web, the HTTP
# host of serve, which listens on a socket and so imports net) are pure. For each of their packages, every
# package it depends on (go list -deps):
#   - is none of the I/O libraries (netlink, gopacket capture, gopsutil,
#     yaml, gocui) and none of our own I/O layers (sources, configs, cmd);
#   - if it is one of ours, imports no I/O package of the standard library
#     (os, os/exec, net, syscall, x/sys/unix) itself.
# The standard library's own use of os (fmt, time) is not counted: a pure
# package may format text and hold times.
set -eu
bad=0
banned_libs='github.com/google/gopacket/afpacket github.com/google/gopacket/pcap github.com/google/gopacket/pcapgo github.com/vishvananda/netlink github.com/vishvananda/netns github.com/shirou/gopsutil/v3 gopkg.in/yaml.v3 github.com/jroimartin/gocui github.com/nsf/termbox-go'
banned_ours='netriage/sources netriage/configs netriage/cmd'
banned_std='os os/exec os/signal net syscall golang.org/x/sys/unix'
pkgs=$(go list ./triage/... ./views/...)
for pkg in $pkgs; do
	# The hosts do I/O by design (a terminal, a socket); what they render
	# comes from the pure packages, which stay checked.
	case "$pkg" in netriage/views/tui* | netriage/views/web*) continue ;; esac
	deps=$(go list -deps "$pkg")
	for dep in $deps; do
		for b in $banned_libs $banned_ours; do
			case "$dep" in "$b" | "$b"/*)
				echo "purity: $pkg depends on $dep (triage/ and views/ must stay free of I/O)"; bad=1 ;;
			esac
		done
		case "$dep" in
		netriage/*)
			imps=$(go list -f '{{join .Imports " "}}' "$dep")
			for imp in $imps; do
				for b in $banned_std; do
					if [ "$imp" = "$b" ]; then
						echo "purity: $pkg depends on $dep, which imports $imp"; bad=1
					fi
				done
			done ;;
		esac
	done
done
exit $bad
