package format

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Cell makes s safe and one-cell-per-rune for a terminal grid: it applies
// Sanitize, then replaces runes that do not occupy exactly one terminal
// cell (wide East Asian characters, emoji, combining marks) with '?', since
// the terminal library places one rune per cell.
func Cell(s string) string {
	s = Sanitize(s, 0)
	narrow := true
	for _, r := range s {
		if !oneCell(r) {
			narrow = false
			break
		}
	}
	if narrow {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !oneCell(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// oneCell reports whether r takes exactly one terminal cell. It is
// conservative: anything wide or zero-width by the usual East Asian Width
// and combining-mark rules is rejected.
func oneCell(r rune) bool {
	if r < 0x300 {
		return true
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
		return false
	}
	switch {
	case r >= 0x1100 && r <= 0x115F, // Hangul Jamo
		r >= 0x2E80 && r <= 0xA4CF && r != 0x303F, // CJK ... Yi
		r >= 0xAC00 && r <= 0xD7A3,                // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF,                // CJK compatibility
		r >= 0xFE30 && r <= 0xFE4F,                // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFF60,                // fullwidth forms
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x1F300 && r <= 0x1FAFF, // emoji and pictographs
		r >= 0x20000 && r <= 0x3FFFD: // CJK extensions
		return false
	}
	return true
}

// Fit returns s made terminal-safe (Cell) and fitted to exactly width cells:
// cut with a trailing '…' when longer, padded with spaces when shorter.
func Fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = Cell(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == width:
		return s
	case n < width:
		return s + strings.Repeat(" ", width-n)
	}
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == width-1 {
			break
		}
		b.WriteRune(r)
		i++
	}
	b.WriteRune('…')
	return b.String()
}

// FitRight is Fit with the text aligned right (padding on the left). Text
// longer than width is cut like Fit.
func FitRight(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = Cell(s)
	n := utf8.RuneCountInString(s)
	if n >= width {
		return Fit(s, width)
	}
	return strings.Repeat(" ", width-n) + s
}

// FitMiddle fits s to width by cutting the middle (keeping both ends, which
// matters for command lines and DNS names), padded right.
func FitMiddle(s string, width int) string {
	s = Cell(s)
	rs := []rune(s)
	if len(rs) <= width || width < 5 {
		return Fit(s, width)
	}
	head := (width - 1) / 2
	tail := width - 1 - head
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:])
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values (oldest first) as width block characters, the
// newest at the right; a missing past is blank. max <= 0 scales to the
// largest value.
func Sparkline(values []float64, width int, max float64) string {
	if width <= 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	if max <= 0 {
		for _, v := range values {
			if v > max {
				max = v
			}
		}
	}
	var b strings.Builder
	b.Grow(width * 3)
	for i := len(values); i < width; i++ {
		b.WriteByte(' ')
	}
	for _, v := range values {
		if max <= 0 || v <= 0 {
			b.WriteRune(' ')
			continue
		}
		i := int(v / max * float64(len(sparkRunes)-1))
		if i >= len(sparkRunes) {
			i = len(sparkRunes) - 1
		}
		if i < 0 {
			i = 0
		}
		b.WriteRune(sparkRunes[i])
	}
	return b.String()
}

// Bar draws a horizontal bar of width cells filled to ratio (0..1, clamped)
// with '█' and a half block for the remainder, padded with fill.
func Bar(ratio float64, width int, fill rune) string {
	if width <= 0 {
		return ""
	}
	if ratio < 0 || ratio != ratio {
		ratio = 0
	}
	if ratio > 1 {
		ratio = 1
	}
	halves := int(ratio*float64(2*width) + 0.5)
	var b strings.Builder
	b.Grow(width * 3)
	n := 0
	for ; n < halves/2; n++ {
		b.WriteRune('█')
	}
	if halves%2 == 1 {
		b.WriteRune('▌')
		n++
	}
	for ; n < width; n++ {
		b.WriteRune(fill)
	}
	return b.String()
}

// Plural is "1 link" or "2 links": n and the word for its number. many, when
// given, is the plural form ("1 process", "2 processes"); without it the
// plural adds an s.
func Plural(n int, one string, many ...string) string {
	if n == 1 {
		return "1 " + one
	}
	if len(many) > 0 {
		return strconv.Itoa(n) + " " + many[0]
	}
	return strconv.Itoa(n) + " " + one + "s"
}
