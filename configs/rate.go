package configs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// ParseRate parses a link rate in bits per second. It accepts a number with an
// optional SI or IEC suffix and optional unit: "10G", "100M", "2.5Gbit",
// "1Gbps", "100Mbit/s", "1Gi", "800000". SI suffixes are powers of 1000, IEC
// (Ki, Mi, Gi, Ti) powers of 1024. A trailing "B"/"Bps" (bytes) multiplies
// by 8.
func ParseRate(s string) (uint64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty rate: want e.g. 10G, 100M or 2.5Gbit")
	}
	i := strings.IndexFunc(s, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("rate %q: not a number followed by a unit (want e.g. 10G, 100M, 2.5Gbit)", orig)
	}
	mult := 1.0
	lower := strings.ToLower(unit)
	for _, suf := range []string{"/s", "ps", "it"} {
		lower = strings.TrimSuffix(lower, suf)
	}
	// What is left is prefix + optional 'b' (bit) or "B" (byte, checked on
	// the original unit).
	bytes := strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(unit, "/s"), "ps"), "B")
	lower = strings.TrimSuffix(lower, "b")
	switch lower {
	case "":
	case "k":
		mult = 1e3
	case "m":
		mult = 1e6
	case "g":
		mult = 1e9
	case "t":
		mult = 1e12
	case "ki":
		mult = 1 << 10
	case "mi":
		mult = 1 << 20
	case "gi":
		mult = 1 << 30
	case "ti":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("rate %q: unknown unit %q (use k, M, G, T, Ki, Mi, Gi, Ti, optionally followed by bit or bps)", orig, unit)
	}
	if bytes {
		mult *= 8
	}
	r := v * mult
	if !(r >= 1) || math.IsInf(r, 0) || r > 1e15 {
		return 0, fmt.Errorf("rate %q: must be between 1 bit/s and 1 Pbit/s", orig)
	}
	return uint64(math.Round(r)), nil
}

// ParseLinkSpeed parses an "IF=RATE" pair as given to --link-speed.
func ParseLinkSpeed(s string) (iface string, bps uint64, err error) {
	name, rate, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return "", 0, fmt.Errorf("--link-speed %q: want IFACE=RATE, e.g. eth0=10G", s)
	}
	bps, err = ParseRate(rate)
	if err != nil {
		return "", 0, fmt.Errorf("--link-speed %q: %w", s, err)
	}
	return strings.TrimSpace(name), bps, nil
}

// ParseFileLinkSpeed parses the --link-speed values of a capture file's
// check: none (name "" and 0: unknown), or one, "RATE" (no name) or
// "IF=RATE". A file is one link, so more than one is an error.
func ParseFileLinkSpeed(speeds []string) (name string, bps uint64, err error) {
	switch {
	case len(speeds) == 0:
		return "", 0, nil
	case len(speeds) > 1:
		return "", 0, fmt.Errorf("--link-speed given %d times: a capture file is one link, give one RATE", len(speeds))
	case strings.Contains(speeds[0], "="):
		return ParseLinkSpeed(speeds[0])
	}
	if bps, err = ParseRate(speeds[0]); err != nil {
		return "", 0, fmt.Errorf("--link-speed %q: %w", speeds[0], err)
	}
	return "", bps, nil
}
