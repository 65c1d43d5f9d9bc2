// Package format turns numbers and untrusted strings into terminal-safe text.
// It is shared by the TUI renderers and the text/CSV writers, and is pure.
//
// # Units
//
// Rates are given in bytes per second and shown in bits per second (the
// default, like iftop) or bytes per second, with SI (k=1000) or IEC
// (Ki=1024) prefixes.
package format

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes untrusted text (process names, command lines, DNS names,
// anything from a packet) safe for a terminal: invalid UTF-8 becomes U+FFFD,
// control characters (C0, DEL, C1, and Unicode format characters such as
// bidirectional overrides) become '?', tabs and newlines become spaces, and
// the result is cut to at most maxRunes runes with a trailing '…' (maxRunes
// <= 0 means no limit).
func Sanitize(s string, maxRunes int) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean && (maxRunes <= 0 || len(s) <= maxRunes) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			r = '\uFFFD'
		case r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			r = '?'
		}
		if maxRunes > 0 && n == maxRunes-1 && i < len(s) {
			b.WriteRune('…')
			return b.String()
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// SanitizeLines is Sanitize, without a limit, of each line of s: text of
// several lines (an error with its advice) keeps its newlines.
func SanitizeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Sanitize(l, 0)
	}
	return strings.Join(lines, "\n")
}

// Units selects how rates and sizes are shown.
type Units struct {
	// Bytes shows bytes (B) instead of bits (b).
	Bytes bool
	// IEC uses powers of 1024 (Ki, Mi, Gi) instead of 1000 (k, M, G).
	IEC bool
}

// Rate formats a rate given in bytes per second, e.g. "12.3Mb/s" (bits,
// SI) or "1.50MiB/s" (bytes, IEC).
func Rate(bytesPerSec float64, u Units) string {
	v := bytesPerSec
	unit := "B/s"
	if !u.Bytes {
		v *= 8
		unit = "b/s"
	}
	return scaled(v, u.IEC) + unit
}

// Bytes formats a byte count, e.g. "1.21MB" or "1.15MiB".
func Bytes(n uint64, iec bool) string {
	return scaled(float64(n), iec) + "B"
}

// Count formats a plain count with SI prefixes, e.g. "12.3k".
func Count(n uint64) string { return scaled(float64(n), false) }

func scaled(v float64, iec bool) string {
	base := 1000.0
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	if iec {
		base = 1024
		prefixes = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
	}
	i := 0
	for v >= base && i < len(prefixes)-1 {
		v /= base
		i++
	}
	var s string
	switch {
	case i == 0:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case v < 10:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return s + prefixes[i]
}

// Percent formats a ratio 0..1 as "12.3%".
func Percent(ratio float64) string {
	return strconv.FormatFloat(ratio*100, 'f', 1, 64) + "%"
}

// CPU formats CPUs' worth of time as top's %CPU, 100% being one whole
// CPU: "2.1%" under 10%, "73%" and "173%" from there.
func CPU(cores float64) string {
	pct := cores * 100
	prec := 0
	if pct < 9.95 {
		prec = 1
	}
	return strconv.FormatFloat(pct, 'f', prec, 64) + "%"
}
